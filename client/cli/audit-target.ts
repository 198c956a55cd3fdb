/**
 * The audit table the `audit` commands read: the local stack's (the dynalite endpoint in
 * `.custody/local.json`), or on AWS the `--table` given, with your AWS credentials.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { localDynamoDbClient } from '../../lambda/adapters/local/local-dynamodb-client.ts';
import { CustodyConfigError } from '../index.ts';
import type { CliIo } from './io.ts';
import { type LocalStack, localStack } from './local-home.ts';
import { UsageError } from './usage-error.ts';

export interface AuditTarget {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly local?: LocalStack;
}

/** The local stack's DynamoDB endpoint (dynalite), with its fixed local credentials. */
export function localDynamoClient(local: LocalStack): DynamoDBClient {
  return localDynamoDbClient({ endpoint: local.dynamodbEndpoint, region: local.region, maxAttempts: 2 });
}

export function auditTarget(
  io: CliIo,
  flags: { table?: string; region?: string; endpoint?: string },
): AuditTarget {
  if (flags.table) {
    const region = flags.region ?? (io.env.AWS_REGION || io.env.AWS_DEFAULT_REGION);
    if (!region) throw new UsageError('--region is required with --table (or set AWS_REGION)');
    return {
      client: new DynamoDBClient({ region, ...(flags.endpoint ? { endpoint: flags.endpoint } : {}) }),
      tableName: flags.table,
    };
  }
  const local = localStack(io);
  if (!local) {
    throw new CustodyConfigError(
      'no local stack: start it with `npm start` (which writes .custody/local.json), or pass --table for the AWS table',
    );
  }
  return { client: localDynamoClient(local), tableName: local.auditTableName, local };
}
