import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSessionTable,
  DynamoDbSessionStore,
} from '../../../lambda/adapters/aws/dynamodb-session-store.ts';
import type { SessionRecord } from '../../../lambda/core/session.ts';
import { type RunningDynalite, startDynalite } from '../../support/dynalite.ts';

const TABLE = 'custody-sessions';
let db: RunningDynalite;
let store: DynamoDbSessionStore;
beforeAll(async () => {
  db = await startDynalite({ createTable: false });
  await createSessionTable(db.client, TABLE);
  await createSessionTable(db.client, TABLE); // idempotent
  store = new DynamoDbSessionStore(db.client, TABLE);
});
afterAll(() => db.stop());

let n = 0;
function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  n++;
  return {
    sessionId: `ses_01HZX3K7R8M9N0P1Q2R3S4T${String(n).padStart(3, '0')}`,
    principalId: 'agent',
    callerArn: 'arn:aws:sts::111122223333:assumed-role/custody-agent/s1',
    profile: 'reports',
    createdAt: `2030-01-01T12:00:${String(n).padStart(2, '0')}.000Z`,
    expiresAt: '2030-01-01T13:00:00.000Z',
    status: 'active',
    executions: 0,
    stateBytes: 0,
    secretVariables: ['REPORT_API_TOKEN'],
    wrappedKey: 'lv1.d3JhcHBlZA==',
    sealedSecrets: { iv: 'aXY=', ciphertext: 'Y3Q=', tag: 'dGFn' },
    ...overrides,
  };
}
const at = (iso: string) => new Date(iso);

describe('DynamoDbSessionStore (on dynalite)', () => {
  it('creates once, reads back, with a numeric ttl a day after the end', async () => {
    const r = record();
    await store.create(r);
    await expect(store.create(r)).rejects.toThrow(/conditional/i);
    expect(await store.get(r.sessionId)).toEqual(r);
    const raw = await db.client.send(
      new GetItemCommand({ TableName: TABLE, Key: { sessionId: { S: r.sessionId } } }),
    );
    expect(raw.Item!.ttl).toEqual({ N: String(Date.parse(r.expiresAt) / 1000 + 86400) });
    expect(await store.get('ses_01HZX3K7R8M9N0P1Q2R3S4T999')).toBeUndefined();
  });

  it('begin takes a free session and counts the call; a second begin is busy until the lock is stale', async () => {
    const r = record();
    await store.create(r);
    expect(await store.begin(r.sessionId, 'E1', at('2030-01-01T12:10:00Z'), 70_000)).toEqual({
      ok: true,
      sequence: 1,
    });
    expect(await store.begin(r.sessionId, 'E2', at('2030-01-01T12:10:30Z'), 70_000)).toEqual({
      ok: false,
      reason: 'busy',
    });
    // E1's finish releases; E2's (it does not hold the session) changes nothing.
    expect(await store.finish(r.sessionId, 'E2', { stateBytes: 5 })).toBe(false);
    expect(await store.finish(r.sessionId, 'E1', { stateBytes: 120 })).toBe(true);
    expect(await store.get(r.sessionId)).toMatchObject({ executions: 1, stateBytes: 120 });
    expect((await store.get(r.sessionId))!.busyWith).toBeUndefined();
    // A holder that never finishes is taken over once stale.
    expect(await store.begin(r.sessionId, 'E3', at('2030-01-01T12:11:00Z'), 70_000)).toMatchObject({
      sequence: 2,
    });
    expect(await store.begin(r.sessionId, 'E4', at('2030-01-01T12:12:00Z'), 70_000)).toEqual({
      ok: false,
      reason: 'busy',
    });
    expect(await store.begin(r.sessionId, 'E4', at('2030-01-01T12:12:11Z'), 70_000)).toEqual({
      ok: true,
      sequence: 3,
    });
    expect(await store.finish(r.sessionId, 'E3', { stateBytes: 1 })).toBe(false);
  });

  it('begin refuses an expired, an ended or an unknown session', async () => {
    const r = record();
    await store.create(r);
    expect(await store.begin(r.sessionId, 'E1', at('2030-01-01T13:00:00Z'), 1000)).toEqual({
      ok: false,
      reason: 'ended',
    });
    await store.end(r.sessionId, 'deleted', at('2030-01-01T12:30:00Z'));
    expect(await store.begin(r.sessionId, 'E1', at('2030-01-01T12:31:00Z'), 1000)).toEqual({
      ok: false,
      reason: 'ended',
    });
    expect(
      await store.begin('ses_01HZX3K7R8M9N0P1Q2R3S4T998', 'E1', at('2030-01-01T12:31:00Z'), 1000),
    ).toEqual({
      ok: false,
      reason: 'missing',
    });
  });

  it('end removes the wrapped key and the sealed secrets in the ending write, once', async () => {
    const r = record();
    await store.create(r);
    await store.begin(r.sessionId, 'E1', at('2030-01-01T12:10:00Z'), 70_000);
    const was = await store.end(r.sessionId, 'revoked', at('2030-01-01T12:20:00Z'));
    expect(was).toMatchObject({
      sessionId: r.sessionId,
      status: 'active',
      executions: 1,
      wrappedKey: r.wrappedKey,
    });
    const raw = await db.client.send(
      new GetItemCommand({ TableName: TABLE, Key: { sessionId: { S: r.sessionId } } }),
    );
    const item = unmarshall(raw.Item!);
    expect(item).toMatchObject({
      status: 'ended',
      endReason: 'revoked',
      endedAt: '2030-01-01T12:20:00.000Z',
    });
    expect(item).not.toHaveProperty('wrappedKey');
    expect(item).not.toHaveProperty('sealedSecrets');
    expect(item).not.toHaveProperty('busyWith');
    expect(await store.end(r.sessionId, 'deleted', at('2030-01-01T12:21:00Z'))).toBeUndefined();
    expect(await store.finish(r.sessionId, 'E1', { stateBytes: 9 })).toBe(false);
  });

  it("lists a principal's sessions newest first, and the active ones", async () => {
    const mine = [record({ principalId: 'lister' }), record({ principalId: 'lister' })];
    const theirs = record({ principalId: 'someone' });
    for (const r of [...mine, theirs]) await store.create(r);
    await store.end(mine[0]!.sessionId, 'deleted', at('2030-01-01T12:30:00Z'));
    expect((await store.listByPrincipal('lister')).map((r) => r.sessionId)).toEqual([
      mine[1]!.sessionId,
      mine[0]!.sessionId,
    ]);
    const active = (await store.listActive()).map((r) => r.sessionId);
    expect(active).toContain(mine[1]!.sessionId);
    expect(active).toContain(theirs.sessionId);
    expect(active).not.toContain(mine[0]!.sessionId);
  });
});
