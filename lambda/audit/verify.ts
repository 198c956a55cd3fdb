/**
 * COMPATIBILITY ENTRY POINT, to be deleted: `verifyAudit` as it was before the audit trail was
 * split (issue #13), taking a DynamoDB client, for the code that still imports it from here
 * (client/cli/audit.ts, client/cli/audit-report.ts and their tests, test/load/support.ts). It is the
 * one file under lambda/audit that reaches an adapter. New code: `verifyChain` (verify-chain.ts)
 * over a `DynamoDbAuditChain` (lambda/adapters/aws/dynamodb-audit-chain.ts), `formatVerifyReport`
 * (verify-report.ts).
 */
import { DynamoDbAuditChain, type DynamoDbAuditChainOptions } from '../adapters/aws/dynamodb-audit-chain.ts';
import { type VerifyOptions as ChainVerifyOptions, verifyChain } from './verify-chain.ts';
import type { VerifyResult } from './verify-result.ts';

export { formatVerifyReport } from './verify-report.ts';
export type { IncompleteExecution, VerifyResult } from './verify-result.ts';

export type VerifyOptions = Omit<ChainVerifyOptions, 'table'> & DynamoDbAuditChainOptions;

/** `verifyChain` over the DynamoDB table `tableName`. */
export function verifyAudit(options: VerifyOptions): Promise<VerifyResult> {
  const { client, tableName, timeShards, ...rest } = options;
  return verifyChain({
    ...rest,
    table: new DynamoDbAuditChain({ client, tableName, ...(timeShards === undefined ? {} : { timeShards }) }),
  });
}
