/**
 * The audit chain's verification over a DynamoDB table: `verifyChain` (lambda/audit/verify-chain.ts,
 * pure) reading through a `DynamoDbAuditChain`. What the CLI, the digester's checks and the load
 * tests call with a DynamoDB client.
 */

import { type VerifyOptions as ChainVerifyOptions, verifyChain } from '../../audit/verify-chain.ts';
import type { VerifyResult } from '../../audit/verify-result.ts';
import { DynamoDbAuditChain, type DynamoDbAuditChainOptions } from './dynamodb-audit-chain.ts';

export { formatVerifyReport } from '../../audit/verify-report.ts';
export type { IncompleteExecution, VerifyResult } from '../../audit/verify-result.ts';

export type VerifyOptions = Omit<ChainVerifyOptions, 'table'> & DynamoDbAuditChainOptions;

/** `verifyChain` over the DynamoDB table `tableName`. */
export function verifyAudit(options: VerifyOptions): Promise<VerifyResult> {
  const { client, tableName, timeShards, ...rest } = options;
  return verifyChain({
    ...rest,
    table: new DynamoDbAuditChain({ client, tableName, ...(timeShards === undefined ? {} : { timeShards }) }),
  });
}
