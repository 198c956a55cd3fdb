/**
 * The digest chain's store on DynamoDB (AWS) and dynalite (local mode): what `lambda/audit/`'s
 * digest and verifier read and write, through the SDK's paginator, marshaller and conditional put.
 * Every failure is an audit DependencyError naming the table (the callers fail closed).
 */
import {
  type DynamoDBClient,
  GetItemCommand,
  paginateScan,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { AuditReadError, AuditWriteError, describeError } from '../../audit/errors.ts';
import { DIGEST_PK } from '../../audit/item.ts';
import type { AuditChainStore, AuditItem, StoredRecord } from '../../core/audit-chain.ts';
import { AUDIT_TABLE } from '../../core/audit-table.ts';
import { fromDynamoItem, putNewItemCommand, toDynamoItem } from './audit-item.ts';
import { tableCreatedAt } from './audit-table.ts';
import { DynamoDbAuditStore } from './dynamodb-audit-store.ts';

export interface DynamoDbAuditChainOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Must match the store's `timeShards`. @default 1 */
  readonly timeShards?: number;
}

export class DynamoDbAuditChain implements AuditChainStore {
  readonly tableName: string;
  private readonly client: DynamoDBClient;
  private readonly records: DynamoDbAuditStore;

  constructor(options: DynamoDbAuditChainOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.records = new DynamoDbAuditStore({
      client: options.client,
      tableName: options.tableName,
      timeShards: options.timeShards ?? 1,
    });
  }

  async scanAll(): Promise<AuditItem[]> {
    const items: AuditItem[] = [];
    try {
      const pages = paginateScan(
        // Each page's command with its own copy of the input (the paginator moves one object's key).
        { client: this.client, withCommand: (command) => new ScanCommand({ ...command.input }) },
        { TableName: this.tableName, ConsistentRead: true },
      );
      for await (const page of pages) for (const item of page.Items ?? []) items.push(fromDynamoItem(item));
    } catch (error) {
      throw new AuditReadError(`could not scan audit table ${this.tableName}: ${describeError(error)}`, {
        cause: error,
      });
    }
    return items;
  }

  async latestDigests(count: number): Promise<AuditItem[]> {
    try {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': AUDIT_TABLE.partitionKey },
          ExpressionAttributeValues: marshall({ ':pk': DIGEST_PK }),
          ScanIndexForward: false,
          Limit: Math.max(1, count),
          ConsistentRead: true,
        }),
      );
      return (out.Items ?? []).map(fromDynamoItem);
    } catch (error) {
      throw new AuditReadError(
        `could not read audit digests from ${this.tableName}: ${describeError(error)}`,
        { cause: error },
      );
    }
  }

  async getItem(pk: string, sk: string): Promise<AuditItem | undefined> {
    try {
      const out = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: marshall({ [AUDIT_TABLE.partitionKey]: pk, [AUDIT_TABLE.sortKey]: sk }),
          ConsistentRead: true,
        }),
      );
      return out.Item === undefined ? undefined : fromDynamoItem(out.Item);
    } catch (error) {
      throw new AuditReadError(`could not read ${pk}/${sk} from ${this.tableName}: ${describeError(error)}`, {
        cause: error,
      });
    }
  }

  listWrittenBetween(from: Date, to: Date): Promise<StoredRecord[]> {
    return this.records.listWrittenBetween(from, to);
  }

  createdAt(): Promise<Date> {
    return tableCreatedAt(this.client, this.tableName);
  }

  async putNew(item: AuditItem, what: string): Promise<boolean> {
    try {
      await this.client.send(putNewItemCommand(this.tableName, toDynamoItem(item)));
      return true;
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw new AuditWriteError(`could not write ${what} to ${this.tableName}: ${describeError(error)}`, {
        cause: error,
      });
    }
  }
}
