/**
 * Reconciliation on the digest's schedule: before each digest run (the digester Lambda on AWS,
 * the local server's digest timer), the records of the recent audit log that are missing from
 * the table are written to it (`reconcile.ts`), so a record the table refused (`auditPending`)
 * enters the table — and the next digest — without an operator.
 *
 * It never throws: the digest must run whatever happens here. A log that cannot be read, a record
 * the table refuses, a conflict (the table holds other content under a record's key) are counted
 * and reported (one JSON log line; metrics on AWS), and the records read before a failure count.
 * The window overlaps from run to run (it is much longer than the digest interval), and
 * reconciliation is idempotent, so a record missed by one run is taken by the next.
 */

import { sha256Hex } from '../core/canonical-json.ts';
import type { AuditStore, Clock } from '../core/ports.ts';
import { describeError } from './errors.ts';
import type { StoredRecord } from './item.ts';
import { parseRecordLine, type ReconcileResult, reconcileAuditLog } from './reconcile.ts';

/** How far back each scheduled run reads the audit log. @see reconcileBeforeDigest */
export const RECONCILE_WINDOW_MS = 30 * 60_000;

/** How much earlier than the window the table's records are listed (a write's retries, clock skew). */
const RECONCILE_STORED_MARGIN_MS = 5 * 60_000;

export interface ScheduledReconcileOptions {
  readonly store: AuditStore;
  /** The audit log's lines (oldest first) written since `since`. */
  readonly readLines: (since: Date) => Iterable<string> | AsyncIterable<string>;
  /** The start of the window. */
  readonly since: Date;
  /**
   * The records the table holds, written since a date, read in bulk (the byTime index): a log line
   * found there with the same bytes is counted as stored without a read per execution. Optional;
   * when it fails, every execution is read one by one (nothing is lost, only requests).
   */
  readonly listStored?: (since: Date) => Promise<readonly StoredRecord[]>;
  /** Receives the report line (JSON) and the counts it holds. */
  readonly report: (line: string, summary: ScheduledReconcileSummary) => void;
}

export interface ScheduledReconcileSummary {
  readonly written: number;
  readonly alreadyStored: number;
  readonly conflicts: number;
  /** Records the table refused, plus one when the log could not be read. */
  readonly failed: number;
  /** The audit log could not be read (to its end): what was read before counts. */
  readonly error?: string;
}

/** Reconciles the window; never throws. */
export async function reconcileBeforeDigest(
  options: ScheduledReconcileOptions,
): Promise<ScheduledReconcileSummary> {
  let readError: string | undefined;
  const key = (executionId: string, event: string, sha256: string) =>
    `${executionId}\u0000${event}\u0000${sha256}`;
  const known = new Set<string>();
  if (options.listStored !== undefined) {
    try {
      const from = new Date(options.since.getTime() - RECONCILE_STORED_MARGIN_MS);
      for (const s of await options.listStored(from))
        known.add(key(s.record.executionId, s.record.event, s.recordSha256));
    } catch {
      // Only an optimisation: reconcileAuditLog reads each execution instead.
    }
  }
  let listed = 0;
  async function* guarded(): AsyncGenerator<string> {
    try {
      for await (const line of options.readLines(options.since)) {
        const record = known.size === 0 ? undefined : parseRecordLine(line);
        if (typeof record === 'object' && known.has(key(record.executionId, record.event, sha256Hex(line)))) {
          listed++;
          continue;
        }
        yield line;
      }
    } catch (error) {
      readError = describeError(error);
    }
  }
  let result: ReconcileResult | undefined;
  try {
    result = await reconcileAuditLog({ store: options.store, lines: guarded() });
  } catch (error) {
    readError ??= describeError(error);
  }
  const summary: ScheduledReconcileSummary = {
    written: result?.written.length ?? 0,
    alreadyStored: (result?.alreadyStored ?? 0) + listed,
    conflicts: result?.conflicts.length ?? 0,
    failed: (result?.failed.length ?? 0) + (readError === undefined ? 0 : 1),
    ...(readError === undefined ? {} : { error: readError }),
  };
  // JSON (Logs Insights reads its fields) with every control character escaped: ids from a log
  // line never drive the terminal the local report is printed on.
  options.report(
    terminalSafeJson({
      message: 'custody audit reconcile',
      since: options.since.toISOString(),
      ...summary,
      ...(result === undefined
        ? {}
        : {
            writtenRecords: result.written,
            conflictRecords: result.conflicts,
            failedRecords: result.failed,
          }),
    }),
    summary,
  );
  return summary;
}

/** JSON.stringify, plus `\uXXXX` for what it leaves raw: DEL, C1 controls, U+2028/U+2029, bidi controls. */
function terminalSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * The lines of a whole audit log (a local file) narrowed to the records whose `timestamp` is at
 * or after `since` (other lines are dropped): the window the CloudWatch source gets by
 * `startTime`, so a run costs the recent records, not the file's whole history.
 */
export function* recordLinesSince(lines: Iterable<string>, since: Date): Generator<string> {
  const from = since.getTime();
  for (const line of lines) {
    const record = parseRecordLine(line);
    if (record === undefined) continue;
    // An invalid line passes on, to be counted as such.
    if (record === 'invalid' || !(Date.parse(record.timestamp) < from)) yield line;
  }
}

/**
 * The local server's step before each digest: reconciles the window of `.custody/audit.log` into
 * the table, and says so on stderr when it wrote, met a conflict or failed (silent otherwise).
 */
export function reconcileLocalLog(
  store: AuditStore & { listWrittenBetween(from: Date, to: Date): Promise<StoredRecord[]> },
  log: { readLines(): Promise<string[]> },
  clock: Clock,
  windowMs = RECONCILE_WINDOW_MS,
): Promise<ScheduledReconcileSummary> {
  return reconcileBeforeDigest({
    store,
    readLines: async function* (since) {
      yield* recordLinesSince(await log.readLines(), since);
    },
    since: new Date(clock().getTime() - windowMs),
    listStored: (from) => store.listWrittenBetween(from, new Date(clock().getTime() + 1)),
    report: (line, summary) => {
      if (summary.written + summary.conflicts + summary.failed > 0) process.stderr.write(`${line}\n`);
    },
  });
}
