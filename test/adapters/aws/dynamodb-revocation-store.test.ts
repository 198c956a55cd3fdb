import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbAuditStore } from '../../../lambda/adapters/aws/dynamodb-audit-store.ts';
import { verifyAudit } from '../../../lambda/adapters/aws/dynamodb-audit-verify.ts';
import { digestUntilCurrent } from '../../../lambda/adapters/aws/dynamodb-digests.ts';
import {
  DynamoDbRevocationStore,
  RevocationWriteError,
  revocationKey,
} from '../../../lambda/adapters/aws/dynamodb-revocation-store.ts';
import { FileAuditSigner } from '../../../lambda/adapters/local/file-audit-signer.ts';
import { DependencyError } from '../../../lambda/core/errors.ts';
import { revocationRecord } from '../../../lambda/core/revocation-record.ts';
import { type RunningDynalite, startDynalite } from '../../support/dynalite.ts';

const T0 = new Date('2030-01-01T12:00:00.000Z');
const T1 = new Date('2030-01-01T12:05:00.000Z');
const T2 = new Date('2030-01-01T12:10:00.000Z');

describe('DynamoDbRevocationStore', () => {
  let db: RunningDynalite;
  let store: DynamoDbRevocationStore;
  beforeAll(async () => {
    db = await startDynalite();
    store = new DynamoDbRevocationStore({ client: db.client, tableName: db.tableName });
  });
  afterAll(async () => {
    await db.stop();
  });

  it('knows nothing of a target that was never revoked', async () => {
    expect(await store.get('profile', 'never')).toBeUndefined();
  });

  it('revokes a profile with its instant, operator and reason, and the instant invalidates older sessions', async () => {
    const state = await store.revoke({
      scope: 'profile',
      target: 'sandbox',
      at: T0,
      by: 'local:ops',
      reason: 'leak',
    });
    expect(state).toEqual({
      scope: 'profile',
      target: 'sandbox',
      revoked: true,
      revokedAt: T0.toISOString(),
      revokedBy: 'local:ops',
      reason: 'leak',
      sessionsIssuedBefore: T0.toISOString(),
    });
    expect(await store.get('profile', 'sandbox')).toEqual(state);
  });

  it('keeps the session instant after reinstatement, as the IAM deny stays on the role', async () => {
    const result = await store.reinstate({ scope: 'profile', target: 'sandbox', at: T1, by: 'local:ops' });
    expect(result.changed).toBe(true);
    expect(result.state).toMatchObject({
      revoked: false,
      reinstatedAt: T1.toISOString(),
      sessionsIssuedBefore: T0.toISOString(),
    });
  });

  it('moves the instant forward on a second revocation and drops the old reason', async () => {
    const state = await store.revoke({ scope: 'profile', target: 'sandbox', at: T2, by: 'local:ops' });
    expect(state.revoked).toBe(true);
    expect(state.sessionsIssuedBefore).toBe(T2.toISOString());
    expect(state.reason).toBeUndefined();
    expect(state.reinstatedAt).toBeUndefined();
  });

  it('suspends a principal without a session instant', async () => {
    const state = await store.revoke({ scope: 'principal', target: 'agent', at: T0, by: 'local:ops' });
    expect(state.revoked).toBe(true);
    expect(state.sessionsIssuedBefore).toBeUndefined();
    expect(await store.get('profile', 'agent')).toBeUndefined();
  });

  it('changes nothing when reinstating what is not revoked', async () => {
    expect(await store.reinstate({ scope: 'principal', target: 'nobody', at: T1, by: 'local:ops' })).toEqual({
      changed: false,
      state: undefined,
    });
    await store.revoke({ scope: 'principal', target: 'twice', at: T0, by: 'local:ops' });
    await store.reinstate({ scope: 'principal', target: 'twice', at: T1, by: 'local:ops' });
    const again = await store.reinstate({ scope: 'principal', target: 'twice', at: T2, by: 'local:ops' });
    expect(again.changed).toBe(false);
    expect(again.state).toMatchObject({ revoked: false, reinstatedAt: T1.toISOString() });
  });

  it('refuses a target name no policy could hold, naming it', async () => {
    await expect(store.revoke({ scope: 'profile', target: 'a#b', at: T0, by: 'local:ops' })).rejects.toThrow(
      RevocationWriteError,
    );
    await expect(store.revoke({ scope: 'profile', target: 'a#b', at: T0, by: 'x' })).rejects.toThrow(
      /profile "a#b"/,
    );
  });

  it('fails closed on a damaged state item', async () => {
    await db.client.send(
      new PutItemCommand({
        TableName: db.tableName,
        Item: { ...revocationKey('profile', 'damaged'), revoked: { S: 'maybe' } },
      }),
    );
    await expect(store.get('profile', 'damaged')).rejects.toThrow(DependencyError);
  });

  it('fails closed with a DependencyError when the table cannot be read', async () => {
    const missing = new DynamoDbRevocationStore({ client: db.client, tableName: 'no-such-table' });
    const error = await missing.get('profile', 'sandbox').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).dependency).toBe('revocation');
    expect((error as DependencyError).httpStatus).toBe(503);
  });

  it('reuses a read state for cacheTtlMs at most', async () => {
    let now = T0.getTime();
    const cached = new DynamoDbRevocationStore({
      client: db.client,
      tableName: db.tableName,
      cacheTtlMs: 1_000,
      clock: () => new Date(now),
    });
    expect(await cached.get('principal', 'cached')).toBeUndefined();
    await store.revoke({ scope: 'principal', target: 'cached', at: T0, by: 'local:ops' });
    now += 999;
    expect(await cached.get('principal', 'cached')).toBeUndefined();
    now += 1;
    expect((await cached.get('principal', 'cached'))?.revoked).toBe(true);
  });

  it('leaves the audit trail verifiable: state items are neither records nor digests', async () => {
    let now = T0.getTime() + 60_000;
    const clock = () => new Date(now);
    const audit = new DynamoDbAuditStore({ client: db.client, tableName: db.tableName, clock });
    const record = revocationRecord({
      action: 'revoked',
      actionId: 'REVOKE-0001',
      at: new Date(now),
      operator: { arn: 'local:ops' },
      revocation: { scope: 'profile', target: 'sandbox', sessionsIssuedBefore: new Date(now).toISOString() },
      origin: 'local',
    });
    await audit.put(record);
    await audit.put({ ...record, executionId: 'REINSTATE-0001', event: 'reinstated' });
    expect((await audit.listRecent({ limit: 10 })).map((r) => r.event).sort()).toEqual([
      'reinstated',
      'revoked',
    ]);
    const signer = FileAuditSigner.generate();
    now += 10 * 60_000;
    await digestUntilCurrent({
      client: db.client,
      tableName: db.tableName,
      signer,
      clock,
      genesis: T0,
      settleMs: 60_000,
    });
    const result = await verifyAudit({ client: db.client, tableName: db.tableName, signer, clock });
    expect(result).toMatchObject({ ok: true, records: 2, uncovered: 0 });
  });
});

describe('DynamoDbRevocationStore on the DynamoDB API', () => {
  const client = new DynamoDBClient({ region: 'eu-west-1' });
  const dynamo = mockClient(client);
  afterEach(() => dynamo.reset());
  const store = new DynamoDbRevocationStore({ client, tableName: 'custody-audit-test' });
  const stateItem = {
    scope: { S: 'profile' },
    target: { S: 'sandbox' },
    revoked: { BOOL: true },
    revokedAt: { S: T0.toISOString() },
    revokedBy: { S: 'local:ops' },
  };

  it('writes a revocation with the attribute values it always wrote', async () => {
    dynamo.on(UpdateItemCommand).resolves({ Attributes: stateItem });
    await store.revoke({ scope: 'profile', target: 'sandbox', at: T0, by: 'local:ops', reason: 'leak' });

    expect(dynamo).toReceiveCommandWith(UpdateItemCommand, {
      TableName: 'custody-audit-test',
      Key: { pk: { S: 'revocation#profile#sandbox' }, sk: { S: 'state' } },
      ReturnValues: 'ALL_NEW',
      UpdateExpression:
        'SET itemType = :itemType, #scope = :scope, #target = :target, revoked = :revoked, revokedAt = :at, revokedBy = :by, reason = :reason, sessionsIssuedBefore = :at REMOVE reinstatedAt, reinstatedBy',
      ExpressionAttributeNames: { '#scope': 'scope', '#target': 'target' },
      ExpressionAttributeValues: {
        ':itemType': { S: 'revocation' },
        ':scope': { S: 'profile' },
        ':target': { S: 'sandbox' },
        ':revoked': { BOOL: true },
        ':at': { S: T0.toISOString() },
        ':by': { S: 'local:ops' },
        ':reason': { S: 'leak' },
      },
    });
  });

  it('reinstates only a revoked target, with the attribute values it always wrote', async () => {
    dynamo.on(UpdateItemCommand).resolves({ Attributes: { ...stateItem, revoked: { BOOL: false } } });
    await store.reinstate({ scope: 'profile', target: 'sandbox', at: T1, by: 'local:ops' });

    expect(dynamo).toReceiveCommandWith(UpdateItemCommand, {
      Key: { pk: { S: 'revocation#profile#sandbox' }, sk: { S: 'state' } },
      UpdateExpression: 'SET revoked = :false, reinstatedAt = :at, reinstatedBy = :by',
      ConditionExpression: 'revoked = :true',
      ExpressionAttributeValues: {
        ':false': { BOOL: false },
        ':true': { BOOL: true },
        ':at': { S: T1.toISOString() },
        ':by': { S: 'local:ops' },
      },
    });
  });
});
