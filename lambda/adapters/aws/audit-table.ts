/**
 * Creates the audit table (local mode, on dynalite; tests) with the key schema and indexes of
 * `lambda/core/audit-table.ts`, the same shape the CDK construct deploys. Idempotent: an existing
 * table of the right shape is accepted, one of another shape is refused with a message naming the
 * difference. (dynalite 4 has no TransactWriteItems and no UpdateTimeToLive; nothing here uses them.)
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DescribeTableCommandOutput,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { AuditTableError } from '../../audit/errors.ts';
import { AUDIT_TABLE } from '../../core/audit-table.ts';

const INDEXES = [AUDIT_TABLE.byTimeIndex, AUDIT_TABLE.byCallerIndex] as const;

export interface CreateAuditTableOptions {
  /** How long to wait for the table to become ACTIVE. @default 30_000 */
  readonly activeTimeoutMs?: number;
}

export async function createAuditTable(
  client: DynamoDBClient,
  tableName: string,
  options: CreateAuditTableOptions = {},
): Promise<void> {
  const existing = await describe(client, tableName);
  if (existing === undefined) {
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [
            { AttributeName: AUDIT_TABLE.partitionKey, AttributeType: 'S' },
            { AttributeName: AUDIT_TABLE.sortKey, AttributeType: 'S' },
            ...INDEXES.flatMap((index) => [
              { AttributeName: index.partitionKey, AttributeType: 'S' as const },
              { AttributeName: index.sortKey, AttributeType: 'S' as const },
            ]),
          ],
          KeySchema: [
            { AttributeName: AUDIT_TABLE.partitionKey, KeyType: 'HASH' },
            { AttributeName: AUDIT_TABLE.sortKey, KeyType: 'RANGE' },
          ],
          GlobalSecondaryIndexes: INDEXES.map((index) => ({
            IndexName: index.name,
            KeySchema: [
              { AttributeName: index.partitionKey, KeyType: 'HASH' },
              { AttributeName: index.sortKey, KeyType: 'RANGE' },
            ],
            // The digest and the listings read recordSha256, record and writtenAt from the index.
            Projection: { ProjectionType: 'ALL' },
          })),
        }),
      );
    } catch (error) {
      // Another process created it between our describe and create: fine, check its shape below.
      if ((error as { name?: string }).name !== 'ResourceInUseException') {
        throw new AuditTableError(`could not create audit table ${tableName}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
  }
  const table = await waitActive(client, tableName, options.activeTimeoutMs ?? 30_000);
  const problem = shapeProblem(table);
  if (problem !== undefined) {
    throw new AuditTableError(`table ${tableName} exists but is not an audit table: ${problem}`);
  }
}

async function describe(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  let out: DescribeTableCommandOutput;
  try {
    out = await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') return undefined;
    throw new AuditTableError(`could not describe audit table ${tableName}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return out.Table;
}

async function waitActive(
  client: DynamoDBClient,
  tableName: string,
  timeoutMs: number,
): Promise<TableDescription> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const table = await describe(client, tableName);
    const indexesActive = (table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
    if (table?.TableStatus === 'ACTIVE' && indexesActive) return table;
    if (Date.now() > deadline) {
      throw new AuditTableError(`audit table ${tableName} did not become ACTIVE within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function keyOf(schema: TableDescription['KeySchema']): string {
  const hash = schema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
  const range = schema?.find((k) => k.KeyType === 'RANGE')?.AttributeName;
  return `${hash ?? '-'}/${range ?? '-'}`;
}

function shapeProblem(table: TableDescription): string | undefined {
  const wantKey = `${AUDIT_TABLE.partitionKey}/${AUDIT_TABLE.sortKey}`;
  if (keyOf(table.KeySchema) !== wantKey) return `key is ${keyOf(table.KeySchema)}, expected ${wantKey}`;
  for (const index of INDEXES) {
    const found = table.GlobalSecondaryIndexes?.find((g) => g.IndexName === index.name);
    if (found === undefined) return `index ${index.name} is missing`;
    const want = `${index.partitionKey}/${index.sortKey}`;
    if (keyOf(found.KeySchema) !== want)
      return `index ${index.name} key is ${keyOf(found.KeySchema)}, expected ${want}`;
  }
  return undefined;
}

/** When the table was created (the digest's default genesis). */
export async function tableCreatedAt(client: DynamoDBClient, tableName: string): Promise<Date> {
  const table = await describe(client, tableName);
  if (table?.CreationDateTime === undefined)
    throw new AuditTableError(`audit table ${tableName} does not exist`);
  return table.CreationDateTime;
}
