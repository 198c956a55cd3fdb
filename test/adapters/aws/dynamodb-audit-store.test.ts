import { type AddressInfo, createServer, type Socket } from 'node:net';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { itemSizeBytes, recordToItem } from '../../../lambda/adapters/aws/audit-item.ts';
import { createAuditTable, tableCreatedAt } from '../../../lambda/adapters/aws/audit-table.ts';
import {
  DynamoDbAuditStore,
  LIST_RECENT_MAX_LOOKBACK_DAYS,
} from '../../../lambda/adapters/aws/dynamodb-audit-store.ts';
import { AuditRecordExistsError, AuditWriteError } from '../../../lambda/audit/errors.ts';
import { DYNAMODB_MAX_ITEM_BYTES } from '../../../lambda/core/audit-bounds.ts';
import { DependencyError } from '../../../lambda/core/errors.ts';
import { auditRecord, ManualClock } from '../../audit/records.ts';
import { dynamoDbClient, type RunningDynalite, startDynalite } from '../../support/dynalite.ts';

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

  it('refuses an item over 400 KB as DynamoDB counts it, before sending it, naming its size', async () => {
    const base = auditRecord('exec-huge', 'started', clock.now());
    // 69,000 control characters: 69,000 bytes of UTF-8, 414,000 once escaped in the record attribute.
    const huge = { ...base, request: { ...base.request, purpose: '\u0001'.repeat(69_000) } };
    const item = recordToItem(huge, clock.now().toISOString(), 1);
    const size = itemSizeBytes(item);
    expect(size).toBeGreaterThan(DYNAMODB_MAX_ITEM_BYTES);
    expect(size).toBe(
      Object.entries(item).reduce(
        (n, [name, v]) => n + Buffer.byteLength(name) + Buffer.byteLength(v.S ?? ''),
        0,
      ),
    );
    let sent = 0;
    const counting = new DynamoDbAuditStore({ client: db.client, tableName: db.tableName, clock: clock.now });
    db.client.middlewareStack.add(
      (next) => async (args) => {
        sent++;
        return next(args);
      },
      { step: 'initialize', name: 'countSends' },
    );
    try {
      const error = await counting.put(huge).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuditWriteError);
      expect((error as Error).message).toBe(
        `audit record exec-huge/started not written to table ${db.tableName}: its item is ${size} bytes; DynamoDB accepts at most 409600`,
      );
      expect(sent).toBe(0);
    } finally {
      db.client.middlewareStack.remove('countSends');
    }
    expect(await store.get('exec-huge')).toEqual([]);
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

describe('DynamoDbAuditStore listing far back', () => {
  const HOUR = 3_600_000;
  const DAY = 24 * HOUR;
  let db: RunningDynalite;
  let tables = 0;

  beforeAll(async () => {
    db = await startDynalite({ createTable: false });
  });
  afterAll(async () => {
    await db.stop();
  });

  /** A fresh table, a client that counts the commands it sends, and the table's creation time. */
  async function freshTable() {
    const tableName = `listing-${++tables}`;
    await createAuditTable(db.client, tableName);
    const createdAt = await tableCreatedAt(db.client, tableName);
    const client = db.newClient();
    const sent: string[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize' },
    );
    const count = (command: string) => sent.filter((c) => c === command).length;
    const clear = () => sent.splice(0);
    return { tableName, createdAt, client, count, clear };
  }

  it('lists every record since the epoch, querying only the hours since the table was created', async () => {
    const t = await freshTable();
    const clock = new ManualClock(new Date(t.createdAt.getTime() - 50 * 60_000));
    const store = new DynamoDbAuditStore({ client: t.client, tableName: t.tableName, clock: clock.now });
    const written = [];
    for (const id of ['exec-e-1', 'exec-e-2', 'exec-e-3']) {
      const record = auditRecord(id, 'denied', clock.now());
      await store.put(record);
      written.push(record);
      clock.advance(25 * 60_000);
    }
    t.clear();

    const listed = await store.listRecent({ since: new Date(0) });

    expect(listed).toEqual(written.reverse());
    expect(t.count('DescribeTableCommand')).toBe(1);
    // The hours from one hour before the table's creation to now: at most three.
    expect(t.count('QueryCommand')).toBeLessThanOrEqual(3);
  });

  it('walks a sparse ten days back to the table, one query per hour, and stops at the limit', async () => {
    const t = await freshTable();
    const clock = new ManualClock(new Date(t.createdAt.getTime() + 5 * 60_000));
    const store = new DynamoDbAuditStore({ client: t.client, tableName: t.tableName, clock: clock.now });
    const first = auditRecord('exec-s-1', 'denied', clock.now());
    await store.put(first);
    clock.advance(5 * DAY);
    const second = auditRecord('exec-s-2', 'denied', clock.now());
    await store.put(second);
    clock.advance(5 * DAY);
    t.clear();

    expect(await store.listRecent({ since: new Date(0) })).toEqual([second, first]);
    const hours = 10 * 24 + 1;
    expect(t.count('QueryCommand')).toBeGreaterThanOrEqual(hours);
    expect(t.count('QueryCommand')).toBeLessThanOrEqual(hours + 2);

    t.clear();
    expect(await store.listRecent({ since: new Date(0), limit: 1 })).toEqual([second]);
    // Five days of hours, plus at most one round of 24 hours past the record.
    expect(t.count('QueryCommand')).toBeLessThanOrEqual(5 * 24 + 2 + 24);
  });

  it('refuses a since beyond the look-back on a table older than it, naming the limit, without querying', async () => {
    const t = await freshTable();
    const now = new Date(t.createdAt.getTime() + (LIST_RECENT_MAX_LOOKBACK_DAYS + 30) * DAY);
    const store = new DynamoDbAuditStore({ client: t.client, tableName: t.tableName, clock: () => now });

    await expect(store.listRecent({ since: new Date(0) })).rejects.toThrow(
      new RegExp(
        `since 1970-01-01T00:00:00.000Z is more than ${LIST_RECENT_MAX_LOOKBACK_DAYS} days before now .*table ${t.tableName} was created`,
      ),
    );
    expect(t.count('QueryCommand')).toBe(0);
    // Within the look-back it lists (nothing here).
    expect(await store.listRecent({ since: new Date(now.getTime() - 10 * DAY) })).toEqual([]);
  });

  it('queries a since within the last week as given, without describing the table', async () => {
    const t = await freshTable();
    const store = new DynamoDbAuditStore({ client: t.client, tableName: t.tableName });
    await store.put(auditRecord('exec-w-1', 'denied', new Date()));
    t.clear();

    expect((await store.listRecent()).map((r) => r.executionId)).toEqual(['exec-w-1']);
    expect(t.count('DescribeTableCommand')).toBe(0);
    expect(t.count('QueryCommand')).toBe(7 * 24 + 1);
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
