/**
 * Reconciliation before a digest (`scheduled-reconcile.ts`) against a real table (dynalite): the
 * records the table already holds are found in bulk, a refused write or an unreadable log is
 * counted and reported, never thrown, and the local window keeps only recent record lines.
 */
import { describe, expect, it, vi } from 'vitest';
import { DynamoDbAuditStore } from '../../lambda/adapters/aws/dynamodb-audit-store.ts';
import { recordLine } from '../../lambda/audit/audit-log-line.ts';
import { AuditWriteError } from '../../lambda/audit/errors.ts';
import {
  RECONCILE_WINDOW_MS,
  reconcileBeforeDigest,
  reconcileLocalLog,
  recordLinesSince,
} from '../../lambda/audit/scheduled-reconcile.ts';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import { useAuditTables } from '../support/audit-tables.ts';
import { auditRecord, ManualClock } from './records.ts';

const T0 = new Date('2026-03-10T10:00:00.000Z');
const tables = useAuditTables('scheduled-reconcile');

/** A real store whose per-execution reads are counted; five records stored, one only in the log. */
async function setUp() {
  const tableName = await tables.newTable();
  const clock = new ManualClock(T0);
  const real = new DynamoDbAuditStore({ client: tables.db.client, tableName, clock: clock.now });
  const reads: string[] = [];
  const store = {
    put: (record: AuditRecord) => real.put(record),
    get: (executionId: string) => {
      reads.push(executionId);
      return real.get(executionId);
    },
  };
  const stored: AuditRecord[] = [];
  for (let i = 0; i < 5; i++) {
    stored.push(auditRecord(`exec-${i}`, 'denied', clock.advance(1000)));
    await real.put(stored.at(-1)!);
  }
  const pending = auditRecord('pending-1', 'denied', clock.advance(1000));
  clock.advance(60_000);
  const lines = [...stored, pending].map(recordLine);
  const since = new Date(clock.now().getTime() - RECONCILE_WINDOW_MS);
  return { real, store, reads, lines, pending, since, clock };
}

describe('reconcileBeforeDigest', () => {
  it('finds the stored records in bulk: only the execution missing from the table is read', async () => {
    const { real, store, reads, lines, since, clock } = await setUp();
    const reports: string[] = [];

    const summary = await reconcileBeforeDigest({
      store,
      readLines: () => lines,
      since,
      listStored: (from) => real.listWrittenBetween(from, clock.now()),
      report: (line) => reports.push(line),
    });

    expect(summary).toEqual({ written: 1, alreadyStored: 5, conflicts: 0, failed: 0 });
    expect(reads).toEqual(['pending-1']);
    expect(await real.get('pending-1')).toHaveLength(1);
    expect(JSON.parse(reports[0]!)).toMatchObject({
      message: 'custody audit reconcile',
      since: since.toISOString(),
      writtenRecords: [{ executionId: 'pending-1', event: 'denied' }],
    });
  });

  it('reads each execution when the bulk listing fails, with the same result', async () => {
    const { real, store, reads, lines, since } = await setUp();

    const summary = await reconcileBeforeDigest({
      store,
      readLines: () => lines,
      since,
      listStored: () => Promise.reject(new Error('index unavailable')),
      report: () => undefined,
    });

    expect(summary).toEqual({ written: 1, alreadyStored: 5, conflicts: 0, failed: 0 });
    expect(reads).toHaveLength(6);
    expect(await real.get('pending-1')).toHaveLength(1);
  });

  it('counts and reports a write the table refuses, and does not throw', async () => {
    const { store, lines, since } = await setUp();
    const refusing = {
      ...store,
      put: (record: AuditRecord) =>
        Promise.reject(
          new AuditWriteError(`table refused ${record.executionId}: ProvisionedThroughputExceeded`),
        ),
    };
    const reports: string[] = [];

    const summary = await reconcileBeforeDigest({
      store: refusing,
      readLines: () => lines,
      since,
      report: (line) => reports.push(line),
    });

    expect(summary).toEqual({ written: 0, alreadyStored: 5, conflicts: 0, failed: 1 });
    expect(JSON.parse(reports[0]!).failedRecords).toEqual([
      {
        executionId: 'pending-1',
        event: 'denied',
        message: expect.stringContaining('ProvisionedThroughputExceeded'),
      },
    ]);
  });

  it('keeps what was read before the log failed, and names the failure', async () => {
    const { store, lines, since } = await setUp();
    async function* breaksAfterTheFirstLine() {
      yield lines.at(-1)!;
      throw new Error('log stream gone');
    }

    const summary = await reconcileBeforeDigest({
      store,
      readLines: breaksAfterTheFirstLine,
      since,
      report: () => undefined,
    });

    expect(summary).toEqual({
      written: 1,
      alreadyStored: 0,
      conflicts: 0,
      failed: 1,
      error: 'Error: log stream gone',
    });
  });
});

describe('the report line', () => {
  it('escapes the control characters a hostile execution id carries, and stays JSON', async () => {
    const { store, since, clock } = await setUp();
    const hostileId = 'x\u001b]52;c;AAAA\u0007\u009b2J\u2028\u202eforged';
    const lines = [recordLine(auditRecord(hostileId, 'denied', clock.now()))];
    const reports: string[] = [];

    await reconcileBeforeDigest({
      store,
      readLines: () => lines,
      since,
      report: (line) => reports.push(line),
    });

    const raw = [...reports[0]!].filter((c) => {
      const n = c.charCodeAt(0);
      return (
        n < 0x20 || (n >= 0x7f && n <= 0x9f) || n === 0x2028 || n === 0x2029 || (n >= 0x202a && n <= 0x202e)
      );
    });
    expect(raw).toEqual([]);
    expect(JSON.parse(reports[0]!).writtenRecords).toEqual([{ executionId: hostileId, event: 'denied' }]);
  });
});

describe('recordLinesSince (the local window)', () => {
  it('keeps the record lines from `since` on (and invalid ones, to be counted), drops other lines', () => {
    const since = new Date(T0.getTime() + 1000);
    const old = recordLine(auditRecord('old', 'denied', T0));
    const onTime = recordLine(auditRecord('on-time', 'denied', since));
    const later = recordLine(auditRecord('later', 'denied', new Date(since.getTime() + 1)));
    const notCanonical = `{"executionId":"x", "event":"denied"}`;
    const digest = '{"auditDigest":{"sequence":1}}';

    expect([...recordLinesSince([old, digest, onTime, notCanonical, later], since)]).toEqual([
      onTime,
      notCanonical,
      later,
    ]);
  });
});

describe('reconcileLocalLog', () => {
  it('writes to stderr only when it had something to say', async () => {
    const { real, lines, pending, clock } = await setUp();
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const inTable = { readLines: async () => lines.filter((l) => !l.includes(pending.executionId)) };
      await expect(reconcileLocalLog(real, inTable, clock.now)).resolves.toMatchObject({ written: 0 });
      expect(stderr).not.toHaveBeenCalled();

      await expect(
        reconcileLocalLog(real, { readLines: async () => lines }, clock.now),
      ).resolves.toMatchObject({
        written: 1,
      });
      expect(String(stderr.mock.calls[0]?.[0])).toContain('"written":1');
    } finally {
      stderr.mockRestore();
    }
  });
});
