/**
 * The local server's in-process DynamoDB client against a real dynalite: the same SDK commands
 * and error types as over the network, no socket, and no SigV4 computation.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  embeddedDynamoDbClient,
  unsignedAuthorization,
} from '../../../lambda/adapters/local/embedded-dynamodb.ts';

const dynalite = createRequire(import.meta.url)('dynalite') as (options: {
  path?: string;
  createTableMs?: number;
}) => Server;

let dir: string;
let db: Server;
let endpoint: string;
let connections = 0;
let client: DynamoDBClient;
const authorizations: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'custody-embedded-'));
  db = dynalite({ path: dir, createTableMs: 0 });
  db.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => db.listen(0, '127.0.0.1', () => resolve()));
  endpoint = `http://127.0.0.1:${(db.address() as AddressInfo).port}`;
  client = embeddedDynamoDbClient(db, endpoint, 'eu-west-1');
  // What reaches the handler, after the signing step.
  client.middlewareStack.add(
    (next) => async (args) => {
      const headers = (args.request as { headers: Record<string, string> }).headers;
      authorizations.push(headers.authorization ?? '');
      return next(args);
    },
    { step: 'deserialize', name: 'captureAuthorization' },
  );
  await client.send(
    new CreateTableCommand({
      TableName: 'embedded',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  // dynalite makes the table ACTIVE on a timer, even with createTableMs 0.
  for (let i = 0; i < 100; i++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: 'embedded' }));
    if (Table?.TableStatus === 'ACTIVE') break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
});

afterAll(async () => {
  client?.destroy();
  await new Promise<void>((resolve) => db.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('embeddedDynamoDbClient', () => {
  it('writes, reads and queries through dynalite without opening a socket', async () => {
    const body = 'é'.repeat(50_000); // multi-byte and larger than one socket chunk
    await client.send(
      new PutItemCommand({
        TableName: 'embedded',
        Item: { pk: { S: 'a' }, sk: { S: '1' }, body: { S: body } },
      }),
    );
    await client.send(
      new PutItemCommand({ TableName: 'embedded', Item: { pk: { S: 'a' }, sk: { S: '2' } } }),
    );
    const got = await client.send(
      new GetItemCommand({
        TableName: 'embedded',
        Key: { pk: { S: 'a' }, sk: { S: '1' } },
        ConsistentRead: true,
      }),
    );
    expect(got.Item?.body?.S).toBe(body);
    const query = await client.send(
      new QueryCommand({
        TableName: 'embedded',
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': { S: 'a' } },
      }),
    );
    expect(query.Items?.map((item) => item.sk?.S)).toEqual(['1', '2']);
    expect(connections).toBe(0);
  });

  it('raises the same typed errors as over the network', async () => {
    await client.send(
      new PutItemCommand({ TableName: 'embedded', Item: { pk: { S: 'c' }, sk: { S: '1' } } }),
    );
    await expect(
      client.send(
        new PutItemCommand({
          TableName: 'embedded',
          Item: { pk: { S: 'c' }, sk: { S: '1' } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    ).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    await expect(
      client.send(new GetItemCommand({ TableName: 'missing-table', Key: { pk: { S: 'a' } } })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(
      client.send(new GetItemCommand({ TableName: 'x', Key: { pk: { S: 'a' } } })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('tableName'),
    });
  });

  it('sends a fixed, well-formed Authorization header and computes no signature', async () => {
    await client.send(new GetItemCommand({ TableName: 'embedded', Key: { pk: { S: 'b' }, sk: { S: '1' } } }));
    const last = authorizations.at(-1) ?? '';
    expect(last).toMatch(
      /^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/eu-west-1\/dynamodb\/aws4_request, SignedHeaders=host;x-amz-date, Signature=unsigned$/,
    );
    expect(unsignedAuthorization('eu-west-1', new Date('2026-11-30T04:05:06.789Z'))).toEqual({
      amzDate: '20261130T040506Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=local/20261130/eu-west-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=unsigned',
    });
  });

  it('leaves dynalite serving other clients over the network', async () => {
    const network = new DynamoDBClient({
      endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'cli', secretAccessKey: 'cli' },
    });
    try {
      const got = await network.send(
        new GetItemCommand({
          TableName: 'embedded',
          Key: { pk: { S: 'a' }, sk: { S: '2' } },
          ConsistentRead: true,
        }),
      );
      expect(got.Item?.sk?.S).toBe('2');
      expect(connections).toBeGreaterThan(0);
    } finally {
      network.destroy();
    }
  });
});
