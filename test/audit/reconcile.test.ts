/**
 * Reconciliation against a real table (dynalite) and the real file audit log: a completed record
 * the table refused (auditPending) is written back from its log line, once, byte for byte; the
 * CloudWatch reader is tested with the exact FilterLogEvents inputs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordKey } from '../../lambda/adapters/aws/audit-item.ts';
import {
  CloudWatchAuditLog,
  RECORD_LINE_FILTER_PATTERN,
} from '../../lambda/adapters/aws/cloudwatch-audit-log.ts';
import { DynamoDbAuditStore } from '../../lambda/adapters/aws/dynamodb-audit-store.ts';
import { verifyAudit } from '../../lambda/adapters/aws/dynamodb-audit-verify.ts';
import { FileAuditLog } from '../../lambda/adapters/local/file-audit-log.ts';
import { FileAuditSigner } from '../../lambda/adapters/local/file-audit-signer.ts';
import { formatReconcileReport, reconcileAuditLog } from '../../lambda/audit/reconcile.ts';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import { canonicalJson, sha256Hex } from '../../lambda/core/canonical-json.ts';
import { brokerFixture, callers, post } from '../broker/fixture.ts';
import { type RunningDynalite, startDynalite } from '../support/dynalite.ts';
import { auditRecord } from './records.ts';

let db: RunningDynalite;
let dir: string;
let n = 0;

beforeAll(async () => {
  db = await startDynalite();
  dir = mkdtempSync(join(tmpdir(), 'custody-reconcile-'));
});
afterAll(async () => {
  await db?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function newStore() {
  return new DynamoDbAuditStore({ client: db.client, tableName: db.tableName });
}

/** A broker on the real table and log whose table refuses every `completed` put. */
async function pendingExecution() {
  const store = newStore();
  const log = new FileAuditLog(join(dir, `audit-${n++}.log`));
  const put = store.put.bind(store);
  const refusing = Object.assign(Object.create(store) as DynamoDbAuditStore, {
    put: async (record: AuditRecord) => {
      if (record.event === 'completed') throw new Error('ProvisionedThroughputExceededException');
      return put(record);
    },
  });
  const f = brokerFixture({
    auditStore: refusing,
    auditLog: log,
    clock: () => new Date(),
    newExecutionId: () => `01J0RECONCILE${String(n++).padStart(13, '0')}`,
  });
  const res = await f.api.handle(
    post(callers.agent, { profile: 'sandbox', language: 'python', code: 'print(1)' }),
  );
  const out = JSON.parse(res.body) as { executionId: string; auditPending?: boolean };
  return { store, log, executionId: out.executionId, response: out, status: res.statusCode };
}

describe('reconcileAuditLog', () => {
  it('writes a pending completed record from the log to the table, once, and verify sees the trail complete', async () => {
    const { store, log, executionId, response, status } = await pendingExecution();
    expect(status).toBe(200);
    expect(response.auditPending).toBe(true);
    expect((await store.get(executionId)).map((r) => r.event)).toEqual(['started']);
    const signer = FileAuditSigner.generate();
    const later = () => new Date(Date.now() + 6 * 60_000);
    const before = await verifyAudit({ client: db.client, tableName: db.tableName, signer, clock: later });
    expect(before.incomplete.map((e) => e.executionId)).toContain(executionId);

    const result = await reconcileAuditLog({ store, lines: await log.readLines() });

    expect(result).toMatchObject({ records: 2, alreadyStored: 1, conflicts: [], failed: [], invalid: 0 });
    expect(result.written).toEqual([{ executionId, event: 'completed' }]);
    expect(formatReconcileReport(result)).toContain(`written:   ${executionId}/completed`);
    const line = (await log.readLines()).find((l) => l.includes('"event":"completed"')) as string;
    const item = await db.client.send(
      new GetItemCommand({
        TableName: db.tableName,
        Key: recordKey(executionId, 'completed'),
        ConsistentRead: true,
      }),
    );
    expect(item.Item?.record?.S).toBe(line);
    expect(item.Item?.recordSha256?.S).toBe(sha256Hex(line));
    const after = await verifyAudit({ client: db.client, tableName: db.tableName, signer, clock: later });
    expect(after.incomplete.map((e) => e.executionId)).not.toContain(executionId);

    // Idempotent: a second run writes nothing and changes nothing.
    const again = await reconcileAuditLog({ store, lines: await log.readLines() });
    expect(again).toMatchObject({ records: 2, alreadyStored: 2, written: [], conflicts: [], failed: [] });
    const unchanged = await db.client.send(
      new GetItemCommand({
        TableName: db.tableName,
        Key: recordKey(executionId, 'completed'),
        ConsistentRead: true,
      }),
    );
    expect(unchanged.Item).toEqual(item.Item);
  });

  it('never overwrites a table record whose content differs from the log line: a conflict', async () => {
    const store = newStore();
    const record = auditRecord(`exec-conflict-${n++}`, 'completed', new Date());
    await store.put(record);
    const forged = canonicalJson({ ...record, outcome: { ...record.outcome, status: 'failed' } });

    const result = await reconcileAuditLog({ store, lines: [forged] });

    expect(result.conflicts).toEqual([
      {
        executionId: record.executionId,
        event: 'completed',
        message: 'the table holds another record under this key; not overwritten',
      },
    ]);
    expect((await store.get(record.executionId))[0]).toEqual(record);
  });

  it('reports a conflict found only by the conditional write (another writer raced it)', async () => {
    const store = newStore();
    const record = auditRecord(`exec-race-${n++}`, 'denied', new Date());
    const other = { ...record, decision: { ...record.decision, message: 'other' } };
    const racing = Object.assign(Object.create(store) as DynamoDbAuditStore, {
      get: async () => {
        const found = await store.get(record.executionId);
        await store.put(other);
        return found;
      },
    });

    const result = await reconcileAuditLog({ store: racing, lines: [canonicalJson(record)] });

    expect(result.conflicts.map((c) => c.executionId)).toEqual([record.executionId]);
    expect(result.written).toEqual([]);
  });

  it('skips digest and verification lines, and refuses lines that are not records as custody writes them', async () => {
    const store = newStore();
    const record = auditRecord(`exec-lines-${n++}`, 'denied', new Date());
    const path = join(dir, `mixed-${n++}.log`);
    await appendFile(
      path,
      [
        '{"auditDigest":{"sequence":1},"digestSha256":"x","signature":"y"}',
        '{"auditVerification":{"ok":true}}',
        JSON.stringify(record, null, 1).replaceAll('\n', ' '), // not canonical
        canonicalJson({ ...record, executionId: 'has#hash' }), // not a valid record
        '{"executionId": broken',
        canonicalJson(record),
        '',
      ].join('\n'),
    );

    const result = await reconcileAuditLog({ store, lines: await new FileAuditLog(path).readLines() });

    expect(result).toMatchObject({ records: 1, invalid: 3, written: [{ executionId: record.executionId }] });
    expect(formatReconcileReport(result)).toContain('skipped:   3 lines that are not custody records');
  });

  it('reports a record it could not write as failed, to be run again', async () => {
    const client = db.newClient({ maxAttempts: 1 });
    const store = new DynamoDbAuditStore({ client, tableName: 'no-such-table', maxAttempts: 1 });
    const record = auditRecord(`exec-fail-${n++}`, 'denied', new Date());

    const result = await reconcileAuditLog({ store, lines: [canonicalJson(record)] });

    expect(result.written).toEqual([]);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]?.message).toMatch(/could not read audit table no-such-table/);
  });

  it('escapes control characters of ids read from the log in its report', () => {
    const text = formatReconcileReport({
      records: 1,
      alreadyStored: 0,
      written: [{ executionId: 'x\u001b]0;owned\u0007', event: 'completed' }],
      conflicts: [],
      failed: [],
      invalid: 0,
    });
    expect(text).toContain('written:   x\\u001b]0;owned\\u0007/completed');
    expect(text).not.toContain('\u001b');
  });
});

describe('CloudWatchAuditLog.readRecordLines', () => {
  const logs = mockClient(CloudWatchLogsClient);
  afterAll(() => logs.restore());

  it('reads every page of record lines since the given instant', async () => {
    const record = auditRecord(`exec-cw-${n++}`, 'completed', new Date());
    // Inputs copied as sent: the SDK's paginator reuses one input object and sets its token on it.
    const sent: unknown[] = [];
    logs.on(FilterLogEventsCommand).callsFake(async (input: { nextToken?: string }) => {
      sent.push(JSON.parse(JSON.stringify(input)));
      return input.nextToken === undefined
        ? { events: [{ message: canonicalJson(record) }], nextToken: 'p2' }
        : { events: [{ message: '{"other":1}' }, {}] };
    });
    const since = new Date('2030-01-01T00:00:00Z');
    const log = new CloudWatchAuditLog({
      client: new CloudWatchLogsClient({ region: 'eu-west-1' }),
      logGroupName: '/custody/audit',
    });

    const lines: string[] = [];
    for await (const line of log.readRecordLines({ since })) lines.push(line);

    expect(lines).toEqual([canonicalJson(record), '{"other":1}']);
    expect(logs.commandCalls(FilterLogEventsCommand)).toHaveLength(2);
    expect(sent).toStrictEqual([
      {
        logGroupName: '/custody/audit',
        filterPattern: RECORD_LINE_FILTER_PATTERN,
        startTime: since.getTime(),
      },
      {
        logGroupName: '/custody/audit',
        filterPattern: RECORD_LINE_FILTER_PATTERN,
        startTime: since.getTime(),
        nextToken: 'p2',
      },
    ]);
    const store = newStore();
    const result = await reconcileAuditLog({ store, lines: log.readRecordLines({ since }) });
    expect(result.written).toEqual([{ executionId: record.executionId, event: 'completed' }]);
  });

  it('names the log group when FilterLogEvents is refused', async () => {
    logs.reset();
    logs
      .on(FilterLogEventsCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const log = new CloudWatchAuditLog({
      client: new CloudWatchLogsClient({ region: 'eu-west-1' }),
      logGroupName: '/custody/audit',
    });
    await expect(reconcileAuditLog({ store: newStore(), lines: log.readRecordLines() })).rejects.toThrow(
      /could not read the record lines of log group \/custody\/audit: AccessDeniedException: denied/,
    );
  });
});
