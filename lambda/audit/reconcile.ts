/**
 * Reconciliation: audit records that reached the audit log but not the table (the broker answered
 * `auditPending: true`) are written to the table from their log line, unchanged, so the table —
 * and the digests that seal it — hold the whole trail again.
 *
 * Only lines that are exactly a record as custody writes it (`canonicalJson(record)`) are taken;
 * the put is conditional (never overwrites) and accepts an item already holding the same bytes,
 * so running it twice, or concurrently with the broker, changes nothing the second time. A table
 * item with other content than the log line is a conflict: reported, never overwritten.
 */
import type { AuditEvent, AuditRecord } from '../core/audit-record.ts';
import { canonicalJson, sha256Hex } from '../core/canonical-json.ts';
import type { AuditStore } from '../core/ports.ts';
import { AuditRecordExistsError, describeError } from './errors.ts';
import { recordShapeProblem } from './item.ts';

export interface ReconcileOptions {
  /** The audit table (a conditional put that accepts the same record already there). */
  readonly store: AuditStore;
  /** The audit log's lines, oldest first (other lines — digests, verifications — are skipped). */
  readonly lines: Iterable<string> | AsyncIterable<string>;
}

interface ReconciledRecord {
  readonly executionId: string;
  readonly event: AuditEvent;
}

interface ReconcileFailure extends ReconciledRecord {
  readonly message: string;
}

export interface ReconcileResult {
  /** Record lines read from the log. */
  readonly records: number;
  /** Already in the table, byte for byte. */
  readonly alreadyStored: number;
  /** Written to the table now. */
  readonly written: readonly ReconciledRecord[];
  /** The table holds another record under the same key: not overwritten (tampering, or a forged line). */
  readonly conflicts: readonly ReconcileFailure[];
  /** Could not be written (the table refused or is unreachable): run again later. */
  readonly failed: readonly ReconcileFailure[];
  /** Lines that look like records but are not one as custody writes it (not canonical, bad shape). */
  readonly invalid: number;
}

/** Parses a record line; undefined for other lines, 'invalid' for a line that is not a custody record. */
export function parseRecordLine(line: string): AuditRecord | 'invalid' | undefined {
  if (!line.includes('"executionId"')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'invalid';
  }
  if (typeof value !== 'object' || value === null || !Object.hasOwn(value, 'executionId')) return undefined;
  if (recordShapeProblem(value) !== undefined) return 'invalid';
  try {
    if (canonicalJson(value) !== line) return 'invalid';
  } catch {
    return 'invalid';
  }
  return value as AuditRecord;
}

export async function reconcileAuditLog(options: ReconcileOptions): Promise<ReconcileResult> {
  const { store } = options;
  let records = 0;
  let alreadyStored = 0;
  let invalid = 0;
  const written: ReconciledRecord[] = [];
  const conflicts: ReconcileFailure[] = [];
  const failed: ReconcileFailure[] = [];
  /** executionId -> event -> sha256 of the stored record, read once per execution. */
  const stored = new Map<string, Map<string, string>>();
  const seen = new Set<string>();

  for await (const line of options.lines) {
    const record = parseRecordLine(line);
    if (record === undefined) continue;
    if (record === 'invalid') {
      invalid++;
      continue;
    }
    records++;
    const key = `${record.executionId}\u0000${record.event}`;
    if (seen.has(key)) {
      alreadyStored++;
      continue;
    }
    seen.add(key);
    const who = { executionId: record.executionId, event: record.event };
    let events = stored.get(record.executionId);
    if (events === undefined) {
      try {
        events = new Map(
          (await store.get(record.executionId)).map((r) => [r.event, sha256Hex(canonicalJson(r))]),
        );
      } catch (error) {
        failed.push({ ...who, message: `the table could not be read: ${describeError(error)}` });
        continue;
      }
      stored.set(record.executionId, events);
    }
    const existing = events.get(record.event);
    if (existing !== undefined) {
      if (existing === sha256Hex(line)) alreadyStored++;
      else
        conflicts.push({ ...who, message: 'the table holds another record under this key; not overwritten' });
      continue;
    }
    try {
      await store.put(record);
      events.set(record.event, sha256Hex(line));
      written.push(who);
    } catch (error) {
      if (error instanceof AuditRecordExistsError) {
        conflicts.push({ ...who, message: 'the table holds another record under this key; not overwritten' });
      } else {
        failed.push({ ...who, message: describeError(error) });
      }
    }
  }
  return { records, alreadyStored, written, conflicts, failed, invalid };
}

/** Control characters (and U+2028/U+2029) escaped: ids from a log line never drive the terminal. */
function printable(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    const control = code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
    out += control ? `\\u${code.toString(16).padStart(4, '0')}` : ch;
  }
  return out;
}

/** A report for people. */
export function formatReconcileReport(result: ReconcileResult): string {
  const id = (r: ReconciledRecord) => printable(`${r.executionId}/${r.event}`);
  const lines = [
    `audit reconcile: ${result.written.length} written, ${result.alreadyStored} already in the table, ${result.conflicts.length} conflicts, ${result.failed.length} failed (${result.records} record lines read)`,
  ];
  for (const r of result.written) lines.push(`  written:   ${id(r)}`);
  for (const r of result.conflicts) lines.push(`  conflict:  ${id(r)}: ${printable(r.message)}`);
  for (const r of result.failed) lines.push(`  failed:    ${id(r)}: ${printable(r.message)}`);
  if (result.invalid > 0) lines.push(`  skipped:   ${result.invalid} lines that are not custody records`);
  return lines.join('\n');
}
