/**
 * COMPATIBILITY ENTRY POINT, to be deleted: the digest functions as they were before the audit
 * trail was split (issue #13), taking a DynamoDB client, for the code that still imports them from
 * here (client/cli/audit.ts, lambda/handlers/local-server.ts, the CLI's tests, test/load). It is
 * one of the two files under lambda/audit that reach an adapter. New code: create-digest.ts over a
 * `DynamoDbAuditChain` (lambda/adapters/aws/dynamodb-audit-chain.ts).
 */
import { DynamoDbAuditChain, type DynamoDbAuditChainOptions } from '../adapters/aws/dynamodb-audit-chain.ts';
import {
  type DigestOptions as ChainDigestOptions,
  createDigest as createChainDigest,
  type DigestResult,
  type DigestSchedule,
  digestUntilCurrent as digestChainUntilCurrent,
  scheduleDigests as scheduleChainDigests,
} from './create-digest.ts';
import type { SignedDigest } from './item.ts';

export type { DigestResult, DigestSchedule } from './create-digest.ts';

export type DigestOptions = Omit<ChainDigestOptions, 'table'> & DynamoDbAuditChainOptions;

function onTable(options: DigestOptions): ChainDigestOptions {
  const { client, tableName, timeShards, ...rest } = options;
  return {
    ...rest,
    table: new DynamoDbAuditChain({ client, tableName, ...(timeShards === undefined ? {} : { timeShards }) }),
  };
}

export function createDigest(options: DigestOptions): Promise<DigestResult> {
  return createChainDigest(onTable(options));
}

export function digestUntilCurrent(options: DigestOptions, maxDigests?: number): Promise<SignedDigest[]> {
  return digestChainUntilCurrent(onTable(options), maxDigests);
}

export function scheduleDigests(
  options: DigestOptions & Omit<Parameters<typeof scheduleChainDigests>[0], 'table'>,
): DigestSchedule {
  return scheduleChainDigests({ ...options, ...onTable(options) });
}
