import { type AddressInfo, createServer, type Socket } from 'node:net';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbAuditStore } from '../../lambda/audit/dynamodb-audit-store.ts';
import { AuditRecordExistsError, AuditWriteError } from '../../lambda/audit/errors.ts';
import { createAuditTable } from '../../lambda/audit/table.ts';
import { DependencyError } from '../../lambda/core/errors.ts';
import { dynamoDbClient, type RunningDynalite, startDynalite } from '../support/dynalite.ts';
import { auditRecord, ManualClock } from './records.ts';

describe('DynamoDbAuditStore', () => {
  let db: RunningDynalite;
  const clock = new ManualClock(new Date('2026-03-01T10:00:00.000Z'));
  let store: DynamoDbAuditStore;

  beforeAll(async () => {
    db = await startDynalite();
    store = new DynamoDbAuditStore({ client: db.client, tableName: db.tableName, clock: clock.now });
  });
  afterAll(async () => {
    await db.stop();
  });

  it('reads back the events of an execution it wrote, oldest first', async () => {
    const started = auditRecord('exec-get', 'started', clock.now());
    const completed = auditRecord('exec-get', 'completed', clock.advance(1500));
    await store.put(completed);
    await store.put(started);

    expect(await store.get('exec-get')).toEqual([started, completed]);
  });

  it('returns no events for an execution it never saw', async () => {
    expect(await store.get('exec-unknown')).toEqual([]);
  });

  it('refuses to overwrite an event with other content, and keeps the first', async () => {
    const first = auditRecord('exec-overwrite', 'started', clock.now());
    await store.put(first);
    const forged = { ...first, decision: { allowed: true, reason: 'ALLOWED', message: 'rewritten' } };

    await expect(store.put(forged)).rejects.toBeInstanceOf(AuditRecordExistsError);
    expect(await store.get('exec-overwrite')).toEqual([first]);
  });

  it('accepts the same event written twice (a retry whose first response was lost)', async () => {
    const record = auditRecord('exec-retry', 'denied', clock.now());
    await store.put(record);
    clock.advance(10);
    await store.put(record);

    expect(await store.get('exec-retry')).toEqual([record]);
  });

  it('refuses a record without an execution id, naming the field', async () => {
    const record = { ...auditRecord('x', 'started', clock.now()), executionId: '' };
    await expect(store.put(record)).rejects.toThrow(/executionId must be a non-empty string/);
  });

  it('lists the latest records newest first, across hours, up to the limit', async () => {
    const listClock = new ManualClock(new Date('2026-03-02T08:59:58.000Z'));
    const listing = new DynamoDbAuditStore({
      client: db.client,
      tableName: db.tableName,
      clock: listClock.now,
    });
    const records = [];
    for (let i = 0; i < 5; i++) {
      const record = auditRecord(`exec-list-${i}`, 'denied', listClock.now());
      await listing.put(record);
      records.push(record);
      listClock.advance(1000); // crosses 09:00 after the second record
    }

    const latest = await listing.listRecent({ limit: 3, since: new Date('2026-03-02T08:00:00.000Z') });
    expect(latest.map((r) => r.executionId)).toEqual(['exec-list-4', 'exec-list-3', 'exec-list-2']);
    const all = await listing.listRecent({ limit: 50, since: new Date('2026-03-02T08:00:00.000Z') });
    expect(all.map((r) => r.executionId)).toEqual(records.map((r) => r.executionId).reverse());
  });

  it("lists one caller's records newest first, and nobody else's", async () => {
    const base = new Date('2026-03-03T12:00:00.000Z');
    await store.put(auditRecord('exec-auditor-1', 'denied', base, 'auditor'));
    await store.put(auditRecord('exec-other', 'denied', new Date(base.getTime() + 1000), 'stranger'));
    await store.put(auditRecord('exec-auditor-2', 'denied', new Date(base.getTime() + 2000), 'auditor'));

    const mine = await store.listByCaller('arn:aws:sts::111122223333:assumed-role/auditor/session-1');
    expect(mine.map((r) => r.executionId)).toEqual(['exec-auditor-2', 'exec-auditor-1']);
  });

  it('lists records written in a period in write order, excluding the period end', async () => {
    const periodClock = new ManualClock(new Date('2026-03-04T00:00:00.000Z'));
    const s = new DynamoDbAuditStore({ client: db.client, tableName: db.tableName, clock: periodClock.now });
    await s.put(auditRecord('exec-p-b', 'denied', periodClock.now()));
    await s.put(auditRecord('exec-p-a', 'denied', periodClock.now()));
    periodClock.advance(1000);
    await s.put(auditRecord('exec-p-c', 'denied', periodClock.now()));

    const listed = await s.listWrittenBetween(new Date('2026-03-04T00:00:00.000Z'), periodClock.now());
    expect(listed.map((x) => x.record.executionId)).toEqual(['exec-p-a', 'exec-p-b']);
  });

  it('throws AuditWriteError (a DependencyError) when the store is unreachable', async () => {
    const unreachable = dynamoDbClient('http://127.0.0.1:9', { maxAttempts: 1 });
    const down = new DynamoDbAuditStore({
      client: unreachable,
      tableName: db.tableName,
      maxAttempts: 2,
      retryBaseDelayMs: 1,
    });
    try {
      const error = await down.put(auditRecord('exec-down', 'started', clock.now())).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AuditWriteError);
      expect(error).toBeInstanceOf(DependencyError);
      expect((error as AuditWriteError).message).toMatch(/exec-down\/started not written/);
    } finally {
      unreachable.destroy();
    }
  });

  it('gives up on a store that accepts connections but never answers, after its bounded attempts', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => {
      sockets.push(socket);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const client = dynamoDbClient(`http://127.0.0.1:${port}`, { maxAttempts: 1 });
    const hanging = new DynamoDbAuditStore({
      client,
      tableName: db.tableName,
      maxAttempts: 2,
      attemptTimeoutMs: 100,
      retryBaseDelayMs: 1,
    });
    try {
      await expect(hanging.put(auditRecord('exec-hang', 'started', clock.now()))).rejects.toThrow(
        /exec-hang\/started not written/,
      );
      expect(sockets.length).toBe(2);
    } finally {
      client.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('throws AuditWriteError without retrying when the table does not exist', async () => {
    const missing = new DynamoDbAuditStore({ client: db.client, tableName: 'no-such-table', maxAttempts: 3 });
    await expect(missing.put(auditRecord('exec-nt', 'started', clock.now()))).rejects.toThrow(
      /not written to table no-such-table: ResourceNotFoundException/,
    );
  });
});

describe('createAuditTable', () => {
  let db: RunningDynalite;
  beforeAll(async () => {
    db = await startDynalite({ createTable: false });
  });
  afterAll(async () => {
    await db.stop();
  });

  it('creates the table once and accepts being called again', async () => {
    await createAuditTable(db.client, 'twice');
    await createAuditTable(db.client, 'twice');
    await db.client.send(new DeleteTableCommand({ TableName: 'twice' }));
  });

  it('refuses an existing table of another shape, naming the difference', async () => {
    const { CreateTableCommand } = await import('@aws-sdk/client-dynamodb');
    await db.client.send(
      new CreateTableCommand({
        TableName: 'other-shape',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );
    await expect(createAuditTable(db.client, 'other-shape')).rejects.toThrow(/key is id\/-, expected pk\/sk/);
  });
});
