/**
 * The kill switch's state in the audit table (DynamoDB on AWS, dynalite locally): one item per
 * revoked profile or principal, beside the audit records but under its own key prefix, so the
 * digest and the verifier never mistake it for a record.
 *
 * Item (mutable: the state, not the history; the history is the `revoked` / `reinstated` audit
 * records, which the digest chain covers):
 *   pk                    `revocation#profile#<name>` | `revocation#principal#<id>`
 *   sk                    `state`
 *   itemType              `revocation`
 *   scope, target         what is revoked
 *   revoked               BOOL: revoked now?
 *   revokedAt, revokedBy  the last revocation: ISO instant, operator
 *   reason                optional, as the operator stated it
 *   sessionsIssuedBefore  profile scope: sessions of its role issued earlier are invalid; kept on reinstatement
 *   reinstatedAt, reinstatedBy  the reinstatement that ended the last revocation
 *
 * Reads are strongly consistent, so with the default `cacheTtlMs` of 0 a revocation applies to
 * the very next request that reads it. A read that fails throws DependencyError('revocation'):
 * the broker refuses the request (503) rather than run something that may be revoked.
 */
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { AUDIT_TABLE } from '../../core/audit-table.ts';
import { DependencyError } from '../../core/errors.ts';
import type { Clock, RevocationPort, RevocationScope, RevocationState } from '../../core/ports.ts';

const REVOCATION_PK_PREFIX = 'revocation#';
const REVOCATION_SORT_KEY = 'state';

/** Profile names and principal ids as the policy allows them (no `#`, so keys cannot collide). */
const TARGET = /^[A-Za-z0-9+=,.@_-]{1,64}$/;

type Item = Record<string, AttributeValue>;

export class RevocationWriteError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RevocationWriteError';
  }
}

export interface DynamoDbRevocationStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /**
   * How long a read state is reused in this process. The staleness bound of the kill switch: a
   * revocation reaches every broker at most this long after it was written. @default 0 (read every time)
   */
  readonly cacheTtlMs?: number;
  /** @default () => new Date() */
  readonly clock?: Clock;
}

export interface RevokeInput {
  readonly scope: RevocationScope;
  readonly target: string;
  /** The revocation instant. */
  readonly at: Date;
  readonly by: string;
  readonly reason?: string;
}

export interface ReinstateInput {
  readonly scope: RevocationScope;
  readonly target: string;
  readonly at: Date;
  readonly by: string;
}

export type ReinstateResult =
  | { readonly changed: true; readonly state: RevocationState }
  | { readonly changed: false; readonly state: RevocationState | undefined };

/** The key of a target's state item. */
export function revocationKey(scope: RevocationScope, target: string): Item {
  return marshall({
    [AUDIT_TABLE.partitionKey]: `${REVOCATION_PK_PREFIX}${scope}#${target}`,
    [AUDIT_TABLE.sortKey]: REVOCATION_SORT_KEY,
  });
}

/** Names what is wrong with a target name, or undefined. */
export function revocationTargetProblem(scope: RevocationScope, target: string): string | undefined {
  if (!TARGET.test(target)) {
    return `${scope} "${target.slice(0, 80)}" must be 1-64 characters of [A-Za-z0-9+=,.@_-]`;
  }
  return undefined;
}

/** Reads a state item back; undefined if it is not a well-formed revocation item. */
function readRevocationItem(dynamoItem: Item): RevocationState | undefined {
  const item = unmarshall(dynamoItem, { wrapNumbers: true });
  const s = (name: string): string | undefined => {
    const value: unknown = item[name];
    return typeof value === 'string' ? value : undefined;
  };
  const scope = s('scope');
  const target = s('target');
  const revokedAt = s('revokedAt');
  const revokedBy = s('revokedBy');
  const revoked: unknown = item.revoked;
  if ((scope !== 'profile' && scope !== 'principal') || !target || !revokedAt || !revokedBy) return undefined;
  if (typeof revoked !== 'boolean') return undefined;
  const reason = s('reason');
  const sessionsIssuedBefore = s('sessionsIssuedBefore');
  const reinstatedAt = s('reinstatedAt');
  return {
    scope,
    target,
    revoked,
    revokedAt,
    revokedBy,
    ...(reason !== undefined ? { reason } : {}),
    ...(sessionsIssuedBefore !== undefined ? { sessionsIssuedBefore } : {}),
    ...(reinstatedAt !== undefined ? { reinstatedAt } : {}),
  };
}

function describe(error: unknown): string {
  const e = error as { name?: string; message?: string };
  return e?.name && e.message ? `${e.name}: ${e.message}` : String(error);
}

export class DynamoDbRevocationStore implements RevocationPort {
  readonly tableName: string;
  private readonly client: DynamoDBClient;
  private readonly cacheTtlMs: number;
  private readonly clock: Clock;
  private readonly cache = new Map<string, { state: RevocationState | undefined; readAtMs: number }>();

  constructor(options: DynamoDbRevocationStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.cacheTtlMs = Math.max(0, options.cacheTtlMs ?? 0);
    this.clock = options.clock ?? (() => new Date());
  }

  async get(scope: RevocationScope, target: string): Promise<RevocationState | undefined> {
    const problem = revocationTargetProblem(scope, target);
    // A name no policy could hold was never revoked (and is refused elsewhere).
    if (problem !== undefined) return undefined;
    const cacheKey = `${scope}#${target}`;
    const nowMs = this.clock().getTime();
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined && nowMs - cached.readAtMs < this.cacheTtlMs) return cached.state;
    let item: Item | undefined;
    try {
      const out = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: revocationKey(scope, target),
          ConsistentRead: true,
        }),
      );
      item = out.Item;
    } catch (error) {
      throw new DependencyError('revocation', 'The revocation list cannot be read; nothing was run.', {
        cause: error,
      });
    }
    let state: RevocationState | undefined;
    if (item !== undefined) {
      state = readRevocationItem(item);
      if (state === undefined) {
        // A damaged item: fail closed rather than guess that the target is not revoked.
        throw new DependencyError(
          'revocation',
          `The revocation state of ${scope} ${target} is unreadable; nothing was run.`,
        );
      }
    }
    if (this.cacheTtlMs > 0) this.cache.set(cacheKey, { state, readAtMs: nowMs });
    return state;
  }

  /**
   * Revokes a target (again, if already revoked: the instant moves forward). For a profile,
   * sessions issued before `at` become invalid, for good.
   */
  async revoke(input: RevokeInput): Promise<RevocationState> {
    this.check(input.scope, input.target);
    const at = input.at.toISOString();
    const values: Record<string, string | boolean> = {
      ':itemType': 'revocation',
      ':scope': input.scope,
      ':target': input.target,
      ':revoked': true,
      ':at': at,
      ':by': input.by,
    };
    const set = [
      'itemType = :itemType',
      '#scope = :scope',
      '#target = :target',
      'revoked = :revoked',
      'revokedAt = :at',
      'revokedBy = :by',
    ];
    const remove = ['reinstatedAt', 'reinstatedBy'];
    if (input.reason !== undefined && input.reason !== '') {
      set.push('reason = :reason');
      values[':reason'] = input.reason;
    } else {
      remove.push('reason');
    }
    if (input.scope === 'profile') set.push('sessionsIssuedBefore = :at');
    const item = await this.update(input.scope, input.target, {
      UpdateExpression: `SET ${set.join(', ')} REMOVE ${remove.join(', ')}`,
      ExpressionAttributeNames: { '#scope': 'scope', '#target': 'target' },
      ExpressionAttributeValues: marshall(values),
    });
    const state = item === undefined ? undefined : readRevocationItem(item);
    if (state === undefined) {
      throw new RevocationWriteError(
        `revocation of ${input.scope} ${input.target}: the table returned no state`,
      );
    }
    return state;
  }

  /**
   * Ends a revocation: the target may run again. A profile's `sessionsIssuedBefore` stays, so the
   * sessions the revocation invalidated stay invalid. Nothing changes if the target is not revoked.
   */
  async reinstate(input: ReinstateInput): Promise<ReinstateResult> {
    this.check(input.scope, input.target);
    try {
      const item = await this.update(input.scope, input.target, {
        UpdateExpression: 'SET revoked = :false, reinstatedAt = :at, reinstatedBy = :by',
        ConditionExpression: 'revoked = :true',
        ExpressionAttributeValues: marshall({
          ':false': false,
          ':true': true,
          ':at': input.at.toISOString(),
          ':by': input.by,
        }),
      });
      const state = item === undefined ? undefined : readRevocationItem(item);
      if (state === undefined) {
        throw new RevocationWriteError(
          `reinstatement of ${input.scope} ${input.target}: the table returned no state`,
        );
      }
      return { changed: true, state };
    } catch (error) {
      if ((error as { cause?: { name?: string } }).cause?.name !== 'ConditionalCheckFailedException')
        throw error;
      let current: RevocationState | undefined;
      try {
        current = await this.get(input.scope, input.target);
      } catch (readError) {
        throw new RevocationWriteError(
          `${input.scope} ${input.target} is not revoked, and its state cannot be read: ${describe(readError)}`,
          { cause: readError },
        );
      }
      return { changed: false, state: current };
    }
  }

  private check(scope: RevocationScope, target: string): void {
    const problem = revocationTargetProblem(scope, target);
    if (problem !== undefined) throw new RevocationWriteError(problem);
  }

  private async update(
    scope: RevocationScope,
    target: string,
    input: {
      UpdateExpression: string;
      ConditionExpression?: string;
      ExpressionAttributeNames?: Record<string, string>;
      ExpressionAttributeValues: Item;
    },
  ): Promise<Item | undefined> {
    this.cache.delete(`${scope}#${target}`);
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: revocationKey(scope, target),
          ReturnValues: 'ALL_NEW',
          ...input,
        }),
      );
      return out.Attributes;
    } catch (error) {
      throw new RevocationWriteError(
        `could not write the revocation state of ${scope} ${target} to table ${this.tableName}: ${describe(error)}`,
        { cause: error },
      );
    }
  }
}
