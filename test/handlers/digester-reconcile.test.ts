/**
 * The digester reconciles before it digests: the audit log group (CloudWatch Logs, mocked: exact
 * FilterLogEvents inputs, two pages) into the table (real dynalite), so a pending record enters
 * the table and then the digest; a conflict or an unreadable log is reported, never stops the digest.
 */
import {
  CloudWatchLogsClient,
  FilterLogEventsCommand,
  type FilterLogEventsCommandInput,
  type FilterLogEventsCommandOutput,
} from '@aws-sdk/client-cloudwatch-logs';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CloudWatchAuditLog,
  RECORD_LINE_FILTER_PATTERN,
} from '../../lambda/adapters/aws/cloudwatch-audit-log.ts';
import { DynamoDbAuditStore } from '../../lambda/adapters/aws/dynamodb-audit-store.ts';
import { FileAuditLog } from '../../lambda/adapters/local/file-audit-log.ts';
import { FileAuditSigner } from '../../lambda/adapters/local/file-audit-signer.ts';
import { recordLine } from '../../lambda/audit/audit-log-line.ts';
import { RECONCILE_WINDOW_MS } from '../../lambda/audit/scheduled-reconcile.ts';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import { Metric } from '../../lambda/core/metrics.ts';
import { createDigestHandler } from '../../lambda/handlers/digester.ts';
import { auditRecord, ManualClock } from '../audit/records.ts';
import { useAuditTables } from '../support/audit-tables.ts';

const T0 = new Date('2026-03-10T10:00:00.000Z');
const GROUP = '/custody/Custody/audit-test';
const cw = mockClient(CloudWatchLogsClient);
const tables = useAuditTables('digest-reconcile');
afterEach(() => {
  cw.reset();
});

const page = (records: AuditRecord[], nextToken?: string): FilterLogEventsCommandOutput => ({
  $metadata: {},
  events: records.map((r, i) => ({
    message: recordLine(r),
    timestamp: T0.getTime() + i,
    logStreamName: 's',
  })),
  ...(nextToken === undefined ? {} : { nextToken }),
});

/**
 * The log group answers page 1, then page 2 for `nextToken: 'page-2'`. Returns each request's input
 * as sent (a copy: the SDK's paginator reuses one input object and sets its token on it).
 */
function logGroupHolds(page1: AuditRecord[], page2: AuditRecord[] | Error): FilterLogEventsCommandInput[] {
  const sent: FilterLogEventsCommandInput[] = [];
  cw.on(FilterLogEventsCommand).callsFake(async (input: FilterLogEventsCommandInput) => {
    sent.push(JSON.parse(JSON.stringify(input)) as FilterLogEventsCommandInput);
    if (input.nextToken === undefined) return page(page1, 'page-2');
    if (page2 instanceof Error) throw page2;
    return page(page2);
  });
  return sent;
}

async function setUp() {
  const tableName = await tables.newTable();
  const clock = new ManualClock(T0);
  const store = new DynamoDbAuditStore({ client: tables.db.client, tableName, clock: clock.now });
  const log = new FileAuditLog(tables.logFile(tableName));
  const metrics: { name: string; value: number }[] = [];
  const reports: Record<string, unknown>[] = [];
  const group = new CloudWatchAuditLog({
    client: new CloudWatchLogsClient({ region: 'eu-west-1' }),
    logGroupName: GROUP,
  });
  const run = createDigestHandler({
    client: tables.db.client,
    tableName,
    signer: FileAuditSigner.generate(),
    log,
    emitMetric: (name, value) => metrics.push({ name, value }),
    clock: clock.now,
    genesis: new Date(T0.getTime() - 60_000),
    reconcileFrom: (since) => group.readRecordLines({ since }),
    report: (line) => reports.push(JSON.parse(line) as Record<string, unknown>),
  });
  // Three records in the table (and in the log), plus a started whose completed the table refused.
  const stored: AuditRecord[] = [];
  for (let i = 0; i < 3; i++) {
    clock.advance(1000);
    stored.push(auditRecord(`exec-${i}`, 'denied', clock.now()));
    await store.put(stored.at(-1)!);
  }
  const started = auditRecord('pending-1', 'started', clock.advance(1000));
  await store.put(started);
  stored.push(started);
  const completed = auditRecord('pending-1', 'completed', clock.advance(1000));
  clock.advance(10 * 60_000);
  return { run, clock, store, metrics, reports, stored, completed, tableName };
}

/** The digest part entries in the table, as `executionId/event`. */
async function digested(tableName: string): Promise<string[]> {
  const out = await tables.db.client.send(new ScanCommand({ TableName: tableName }));
  return (out.Items ?? [])
    .filter((item) => item.pk?.S?.startsWith('dpart#'))
    .flatMap((item) => JSON.parse(item.entries?.S ?? '[]') as { executionId: string; event: string }[])
    .map((e) => `${e.executionId}/${e.event}`);
}

describe('digest handler: reconciliation before the digest', () => {
  it('writes a record found only in the log group (two pages) into the table; the next digest covers it', async () => {
    const { run, clock, store, metrics, reports, stored, completed, tableName } = await setUp();
    const sent = logGroupHolds(stored.slice(0, 2), [...stored.slice(2), completed]);
    const now = clock.now().getTime();

    const first = await run();

    expect(cw.commandCalls(FilterLogEventsCommand)).toHaveLength(2);
    expect(sent).toStrictEqual([
      {
        logGroupName: GROUP,
        filterPattern: RECORD_LINE_FILTER_PATTERN,
        startTime: now - RECONCILE_WINDOW_MS,
      },
      {
        logGroupName: GROUP,
        filterPattern: RECORD_LINE_FILTER_PATTERN,
        startTime: now - RECONCILE_WINDOW_MS,
        nextToken: 'page-2',
      },
    ]);
    expect(first.reconcile).toEqual({ written: 1, alreadyStored: 4, conflicts: 0, failed: 0 });
    expect((await store.get('pending-1')).map((r) => r.event).sort()).toEqual(['completed', 'started']);
    expect(reports[0]).toMatchObject({
      message: 'custody audit reconcile',
      written: 1,
      writtenRecords: [{ executionId: 'pending-1', event: 'completed' }],
    });
    expect(metrics.slice(0, 3)).toEqual([
      { name: Metric.AuditReconciled, value: 1 },
      { name: Metric.AuditReconcileConflicts, value: 0 },
      { name: Metric.AuditReconcileFailures, value: 0 },
    ]);
    expect(first.verification).toEqual({ ok: true });

    // Written now: sealed by the digest once its period has settled.
    clock.advance(5 * 60_000);
    const second = await run();
    expect(second.reconcile).toEqual({ written: 0, alreadyStored: 5, conflicts: 0, failed: 0 });
    expect(await digested(tableName)).toContain('pending-1/completed');
    expect(second.verification).toEqual({ ok: true });
  });

  it('reports a conflict (log line, metric, verification alarm) and still digests', async () => {
    const { run, metrics, reports, stored, completed, tableName } = await setUp();
    const forged = auditRecord('exec-1', 'denied', new Date(stored[1]!.timestamp), 'stranger');
    logGroupHolds([stored[0]!, forged], [completed]);

    const summary = await run();

    expect(summary.reconcile).toEqual({ written: 1, alreadyStored: 1, conflicts: 1, failed: 0 });
    expect(reports[0]).toMatchObject({ conflictRecords: [{ executionId: 'exec-1', event: 'denied' }] });
    expect(metrics).toContainEqual({ name: Metric.AuditReconcileConflicts, value: 1 });
    expect(metrics.at(-1)).toEqual({ name: Metric.AuditVerificationIntact, value: 0 });
    expect(summary.digestsWritten).toBe(1);
    expect(await digested(tableName)).toContain('exec-1/denied');
  });

  it('fails soft when FilterLogEvents fails: what was read counts, the failure is reported, the digest runs', async () => {
    const { run, metrics, reports, store, completed, stored } = await setUp();
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    logGroupHolds([stored[0]!, completed], throttled);

    const summary = await run();

    expect(summary.reconcile).toMatchObject({ written: 1, alreadyStored: 1, conflicts: 0, failed: 1 });
    expect(summary.reconcile?.error).toMatch(new RegExp(`record lines of log group ${GROUP}.*Rate exceeded`));
    expect(reports[0]).toMatchObject({ failed: 1, error: expect.stringContaining('Rate exceeded') });
    expect(metrics).toContainEqual({ name: Metric.AuditReconcileFailures, value: 1 });
    expect((await store.get('pending-1')).map((r) => r.event).sort()).toEqual(['completed', 'started']);
    expect(summary.digestsWritten).toBe(1);
    expect(summary.verification).toEqual({ ok: true });
    expect(metrics.at(-1)).toEqual({ name: Metric.AuditVerificationIntact, value: 1 });
  });

  it('fails soft when the log group cannot be read at all', async () => {
    const { run, metrics } = await setUp();
    cw.on(FilterLogEventsCommand).rejects(
      Object.assign(new Error('no access'), { name: 'AccessDeniedException' }),
    );

    const summary = await run();

    expect(summary.reconcile).toMatchObject({
      written: 0,
      failed: 1,
      error: expect.stringContaining('no access'),
    });
    expect(metrics).toContainEqual({ name: Metric.AuditReconcileFailures, value: 1 });
    expect(summary.digestsWritten).toBe(1);
  });
});
