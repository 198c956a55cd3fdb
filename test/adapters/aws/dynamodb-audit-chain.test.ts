/**
 * The digest chain's DynamoDB store, against a mocked client (exact inputs, every page, failures);
 * the chain itself runs on a real table in test/audit/verify-chain.test.ts.
 */
import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  type ScanCommandInput,
  type ScanCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoDbAuditChain } from '../../../lambda/adapters/aws/dynamodb-audit-chain.ts';
import { AuditReadError, AuditWriteError } from '../../../lambda/audit/errors.ts';

const TABLE = 'custody-audit-test';
const dynamo = mockClient(DynamoDBClient);
afterEach(() => dynamo.reset());

const chain = () =>
  new DynamoDbAuditChain({ client: new DynamoDBClient({ region: 'eu-west-1' }), tableName: TABLE });
const denied = Object.assign(new Error('denied'), { name: 'AccessDeniedException' });

describe('DynamoDbAuditChain', () => {
  it('scans the whole table, every page, strongly consistent, and unmarshals each item', async () => {
    const sent: ScanCommandInput[] = [];
    const pages: Record<string, ScanCommandOutput> = {
      first: {
        $metadata: {},
        Items: [{ pk: { S: 'digest' }, sk: { S: 'seq#000000000001' }, sequence: { N: '1' } }],
        LastEvaluatedKey: { pk: { S: 'digest' }, sk: { S: 'seq#000000000001' } },
      },
      digest: { $metadata: {}, Items: [{ pk: { S: 'exec#e' }, sk: { S: 'denied' } }] },
    };
    dynamo.on(ScanCommand).callsFake(async (input: ScanCommandInput) => {
      // A copy: the SDK's paginator reuses one input object and sets its start key on it.
      sent.push(JSON.parse(JSON.stringify(input)) as ScanCommandInput);
      return pages[input.ExclusiveStartKey?.pk?.S ?? 'first'];
    });

    const items = await chain().scanAll();

    expect(items).toEqual([
      { pk: 'digest', sk: 'seq#000000000001', sequence: expect.objectContaining({ value: '1' }) },
      { pk: 'exec#e', sk: 'denied' },
    ]);
    expect(sent).toEqual([
      { TableName: TABLE, ConsistentRead: true },
      {
        TableName: TABLE,
        ConsistentRead: true,
        ExclusiveStartKey: { pk: { S: 'digest' }, sk: { S: 'seq#000000000001' } },
      },
    ]);
  });

  it('reads the newest digest heads, newest first, with one query', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [{ pk: { S: 'digest' }, sk: { S: 'seq#000000000002' } }] });

    expect(await chain().latestDigests(3)).toEqual([{ pk: 'digest', sk: 'seq#000000000002' }]);
    expect(dynamo).toReceiveCommandTimes(QueryCommand, 1);
    expect(dynamo).toReceiveCommandWith(QueryCommand, {
      TableName: TABLE,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'pk' },
      ExpressionAttributeValues: { ':pk': { S: 'digest' } },
      ScanIndexForward: false,
      Limit: 3,
      ConsistentRead: true,
    });
  });

  it('reads one item by key, strongly consistent; undefined when there is none', async () => {
    dynamo
      .on(GetItemCommand, { Key: { pk: { S: 'exec#a' }, sk: { S: 'started' } } })
      .resolves({ Item: { pk: { S: 'exec#a' }, sk: { S: 'started' }, record: { S: '{}' } } })
      .on(GetItemCommand, { Key: { pk: { S: 'exec#b' }, sk: { S: 'started' } } })
      .resolves({});

    expect(await chain().getItem('exec#a', 'started')).toEqual({ pk: 'exec#a', sk: 'started', record: '{}' });
    expect(await chain().getItem('exec#b', 'started')).toBeUndefined();
    expect(dynamo).toReceiveCommandWith(GetItemCommand, {
      TableName: TABLE,
      Key: { pk: { S: 'exec#a' }, sk: { S: 'started' } },
      ConsistentRead: true,
    });
  });

  it('puts a new item only if its key is free, and says false when it is taken', async () => {
    dynamo
      .on(PutItemCommand)
      .resolvesOnce({})
      .rejectsOnce(Object.assign(new Error('taken'), { name: 'ConditionalCheckFailedException' }));

    expect(await chain().putNew({ pk: 'digest', sk: 'seq#000000000001', sequence: 1 }, 'digest 1')).toBe(
      true,
    );
    expect(await chain().putNew({ pk: 'digest', sk: 'seq#000000000001', sequence: 1 }, 'digest 1')).toBe(
      false,
    );
    expect(dynamo).toReceiveCommandWith(PutItemCommand, {
      TableName: TABLE,
      Item: { pk: { S: 'digest' }, sk: { S: 'seq#000000000001' }, sequence: { N: '1' } },
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': 'pk' },
    });
  });

  it('names the table and what failed: reads as AuditReadError, writes as AuditWriteError', async () => {
    dynamo
      .on(ScanCommand)
      .rejects(denied)
      .on(QueryCommand)
      .rejects(denied)
      .on(GetItemCommand)
      .rejects(denied);
    dynamo.on(PutItemCommand).rejects(denied);

    await expect(chain().scanAll()).rejects.toThrow(
      new AuditReadError(`could not scan audit table ${TABLE}: AccessDeniedException: denied`),
    );
    await expect(chain().latestDigests(1)).rejects.toThrow(
      new AuditReadError(`could not read audit digests from ${TABLE}: AccessDeniedException: denied`),
    );
    await expect(chain().getItem('dpart#1', 'a#0000')).rejects.toThrow(
      new AuditReadError(`could not read dpart#1/a#0000 from ${TABLE}: AccessDeniedException: denied`),
    );
    await expect(chain().putNew({ pk: 'p', sk: 's' }, 'digest 4 part 0')).rejects.toThrow(
      new AuditWriteError(`could not write digest 4 part 0 to ${TABLE}: AccessDeniedException: denied`),
    );
  });
});
