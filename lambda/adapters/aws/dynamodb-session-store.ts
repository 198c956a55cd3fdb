/**
 * The session table (DynamoDB on AWS, dynalite locally): one item per session, keyed `sessionId`
 * (S), with a `byPrincipal` index (`principalId` S, `createdAt` S) for `GET /v1/sessions` and a
 * numeric `ttl` (epoch seconds, a day after `expiresAt`) that DynamoDB TTL uses as a backstop.
 *
 * Every transition is a conditional write, so two brokers can never both hold a session or both
 * end it: `begin` takes an active, unexpired, free (or stale) session and counts the call; `finish`
 * releases it only for the call that holds it; `end` ends an active session and REMOVES its wrapped
 * data key and sealed secrets in the same write (crypto-shredding).
 *
 * `createSessionTable` makes the table with that schema (local mode and tests; the CDK stack
 * deploys the same on AWS).
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  CreateTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { SessionEndReason, SessionRecord, SessionStore } from '../../core/session.ts';

/** The index `listByPrincipal` reads. */
const SESSIONS_BY_PRINCIPAL = 'byPrincipal';
/** DynamoDB TTL deletes an item this long after the session's end (the broker ends it first). */
const TTL_AFTER_END_SECONDS = 24 * 3600;

type Item = Record<string, AttributeValue>;

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as { name?: string }).name === 'ConditionalCheckFailedException'
  );
}

function toRecord(item: Item): SessionRecord {
  const { ttl: _ttl, ...record } = unmarshall(item);
  return record as SessionRecord;
}

export class DynamoDbSessionStore implements SessionStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async create(record: SessionRecord): Promise<void> {
    const ttl = Math.floor(Date.parse(record.expiresAt) / 1000) + TTL_AFTER_END_SECONDS;
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: marshall({ ...record, ttl }, { removeUndefinedValues: true }),
        ConditionExpression: 'attribute_not_exists(sessionId)',
      }),
    );
  }

  async get(sessionId: string): Promise<SessionRecord | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall({ sessionId }), ConsistentRead: true }),
    );
    return out.Item ? toRecord(out.Item) : undefined;
  }

  async listByPrincipal(principalId: string): Promise<SessionRecord[]> {
    const records: SessionRecord[] = [];
    let start: Item | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: SESSIONS_BY_PRINCIPAL,
          KeyConditionExpression: 'principalId = :p',
          ExpressionAttributeValues: marshall({ ':p': principalId }),
          ScanIndexForward: false,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      records.push(...(out.Items ?? []).map(toRecord));
      start = out.LastEvaluatedKey;
    } while (start);
    return records;
  }

  async listActive(): Promise<SessionRecord[]> {
    const records: SessionRecord[] = [];
    let start: Item | undefined;
    do {
      const out = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: '#status = :active',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall({ ':active': 'active' }),
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      records.push(...(out.Items ?? []).map(toRecord));
      start = out.LastEvaluatedKey;
    } while (start);
    return records;
  }

  async begin(
    sessionId: string,
    executionId: string,
    now: Date,
    staleAfterMs: number,
  ): Promise<{ ok: true; sequence: number } | { ok: false; reason: 'busy' | 'ended' | 'missing' }> {
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ sessionId }),
          UpdateExpression: 'SET executions = executions + :one, busyWith = :busy',
          ConditionExpression:
            'attribute_exists(sessionId) AND #status = :active AND expiresAt > :now AND ' +
            '(attribute_not_exists(busyWith) OR busyWith.since < :staleBefore)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall({
            ':one': 1,
            ':busy': { executionId, since: now.toISOString() },
            ':active': 'active',
            ':now': now.toISOString(),
            ':staleBefore': new Date(now.getTime() - staleAfterMs).toISOString(),
          }),
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return { ok: true, sequence: Number(unmarshall(out.Attributes ?? {}).executions) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    // Why not: read it (a later write may have changed it, but each answer is one that was true).
    const record = await this.get(sessionId);
    if (!record) return { ok: false, reason: 'missing' };
    if (record.status !== 'active' || now.getTime() >= Date.parse(record.expiresAt)) {
      return { ok: false, reason: 'ended' };
    }
    return { ok: false, reason: 'busy' };
  }

  async finish(sessionId: string, executionId: string, update: { stateBytes: number }): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ sessionId }),
          UpdateExpression: 'SET stateBytes = :bytes REMOVE busyWith',
          ConditionExpression: '#status = :active AND busyWith.executionId = :execution',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall({
            ':bytes': update.stateBytes,
            ':active': 'active',
            ':execution': executionId,
          }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async end(sessionId: string, reason: SessionEndReason, at: Date): Promise<SessionRecord | undefined> {
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ sessionId }),
          UpdateExpression:
            'SET #status = :ended, endReason = :reason, endedAt = :at REMOVE wrappedKey, sealedSecrets, busyWith',
          ConditionExpression: '#status = :active',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall({
            ':ended': 'ended',
            ':active': 'active',
            ':reason': reason,
            ':at': at.toISOString(),
          }),
          ReturnValues: 'ALL_OLD',
        }),
      );
      return out.Attributes ? toRecord(out.Attributes) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }
}

/** Creates the session table with the schema above (local mode, tests); an existing one is kept. */
export async function createSessionTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'sessionId', AttributeType: 'S' },
          { AttributeName: 'principalId', AttributeType: 'S' },
          { AttributeName: 'createdAt', AttributeType: 'S' },
        ],
        KeySchema: [{ AttributeName: 'sessionId', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: SESSIONS_BY_PRINCIPAL,
            KeySchema: [
              { AttributeName: 'principalId', KeyType: 'HASH' },
              { AttributeName: 'createdAt', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceInUseException') throw error;
  }
}
