/**
 * The digest functions over a DynamoDB table: lambda/audit/create-digest.ts (pure) writing through a
 * `DynamoDbAuditChain`. What the local server's digest timer, the CLI and the tests call with a
 * DynamoDB client.
 */

import {
  type DigestOptions as ChainDigestOptions,
  createDigest as createChainDigest,
  type DigestResult,
  type DigestSchedule,
  digestUntilCurrent as digestChainUntilCurrent,
  scheduleDigests as scheduleChainDigests,
} from '../../audit/create-digest.ts';
import type { SignedDigest } from '../../audit/item.ts';
import { DynamoDbAuditChain, type DynamoDbAuditChainOptions } from './dynamodb-audit-chain.ts';

export type { DigestResult, DigestSchedule } from '../../audit/create-digest.ts';

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
