/**
 * One digester at a time, without reserved concurrency: a lease item in the audit table, taken by
 * a conditional put and given back by another. (A reserved concurrency of 1 fails to deploy in new
 * and low-quota accounts: Lambda keeps 10 unreserved executions per account.)
 *
 * The digest chain is already safe without it (the head's conditional put lets one of two
 * concurrent digesters win); the lease keeps the loser from signing and writing part items no
 * digest names, and from running a second verification at the same time.
 *
 * The lease expires on its own (`leaseMs`, longer than the function's timeout), so a digester
 * that crashed or timed out holding it blocks the next run only until then. Taking and giving back
 * are both PutItem: the digester needs no UpdateItem or DeleteItem on the table.
 */
import { randomUUID } from 'node:crypto';
import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { AuditWriteError, describeError } from '../../audit/errors.ts';
import { AUDIT_TABLE } from '../../core/audit-table.ts';
import type { Clock } from '../../core/ports.ts';

/** The lease item's key: outside the record (`exec#`), digest and part key spaces. */
export const DIGEST_LEASE_KEY = { pk: 'digest-lease', sk: 'lease' } as const;

/** @default lease: 5 minutes, more than the digester's 2-minute timeout. */
const DEFAULT_DIGEST_LEASE_MS = 300_000;

export interface DigestLeaseOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** @default () => new Date() */
  readonly clock?: Clock;
  /** @default DEFAULT_DIGEST_LEASE_MS */
  readonly leaseMs?: number;
}

export interface DigestLease {
  readonly owner: string;
  /** Gives the lease back (no-op if it has expired and another digester holds it now). */
  release(): Promise<void>;
}

/** Takes the lease, or returns undefined if another digester holds an unexpired one. */
export async function acquireDigestLease(options: DigestLeaseOptions): Promise<DigestLease | undefined> {
  const clock = options.clock ?? (() => new Date());
  const owner = randomUUID();
  const now = clock().getTime();
  const taken = await put(options, owner, now + (options.leaseMs ?? DEFAULT_DIGEST_LEASE_MS), {
    condition: 'attribute_not_exists(#pk) OR #expiresAtMs <= :now',
    names: { '#pk': AUDIT_TABLE.partitionKey, '#expiresAtMs': 'expiresAtMs' },
    values: { ':now': now },
  });
  if (!taken) return undefined;
  return {
    owner,
    release: async () => {
      // Expire it now, but only while it is still ours.
      await put(options, owner, clock().getTime(), {
        condition: '#owner = :owner',
        names: { '#owner': 'owner' },
        values: { ':owner': owner },
      });
    },
  };
}

async function put(
  options: DigestLeaseOptions,
  owner: string,
  expiresAtMs: number,
  when: {
    readonly condition: string;
    readonly names: Record<string, string>;
    readonly values: Record<string, string | number>;
  },
): Promise<boolean> {
  try {
    await options.client.send(
      new PutItemCommand({
        TableName: options.tableName,
        Item: marshall({
          [AUDIT_TABLE.partitionKey]: DIGEST_LEASE_KEY.pk,
          [AUDIT_TABLE.sortKey]: DIGEST_LEASE_KEY.sk,
          owner,
          expiresAtMs,
        }),
        ConditionExpression: when.condition,
        ExpressionAttributeNames: when.names,
        ExpressionAttributeValues: marshall(when.values),
      }),
    );
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
    throw new AuditWriteError(
      `could not write the digest lease to ${options.tableName}: ${describeError(error)}`,
      { cause: error },
    );
  }
}

/** What a run that found the lease held returns instead of running. */
export interface DigestRunSkipped {
  readonly skipped: 'another digester holds the lease';
  readonly digestsWritten: 0;
}

/** Runs `run` only while holding the lease; gives it back however `run` ends. */
export function withDigestLease<T>(
  run: () => Promise<T>,
  options: DigestLeaseOptions,
): () => Promise<T | DigestRunSkipped> {
  return async () => {
    const lease = await acquireDigestLease(options);
    if (lease === undefined) return { skipped: 'another digester holds the lease', digestsWritten: 0 };
    try {
      return await run();
    } finally {
      await lease.release();
    }
  };
}
