/**
 * Audit records fit their stores by construction. Every string a record carries has a budget in
 * bytes of its canonical JSON (control characters cost 6 bytes once escaped, a 4-byte character
 * 4), and the whole record one more: `MAX_AUDIT_RECORD_BYTES`, under both CloudWatch Logs' event
 * limit (256 KB, the log line is exactly the record's canonical JSON) and DynamoDB's item limit
 * (400 KB: the record attribute plus a few short keys and hashes, `auditItemSizeBytes`).
 *
 * A field over its budget keeps the longest prefix that fits, and the record's `cut` list says so:
 * the field's path, its full size and the sha256 of its full value, so what was received can
 * still be matched against the record. Bounding is deterministic and idempotent, so the table
 * and the log hold the same bytes (`sha256(line) = recordSha256`).
 */
import type { AuditCut, AuditFile, AuditRecord } from './audit-record.ts';
import { sha256Hex } from './canonical-json.ts';

/** Most bytes of one record's canonical JSON (the log line, and the bulk of the table item). */
export const MAX_AUDIT_RECORD_BYTES = 240_000;
/** DynamoDB's item size limit: attribute names plus values, UTF-8. */
export const DYNAMODB_MAX_ITEM_BYTES = 400 * 1024;
/** CloudWatch Logs' event limit as custody bounds it: 256 KB minus the 26-byte per-event overhead. */
export const CLOUDWATCH_MAX_EVENT_BYTES = 256 * 1024 - 26;

/** Budgets in bytes of canonical JSON (without the quotes). Their sum stays well under the record's. */
export const AUDIT_FIELD_BUDGETS = {
  callerField: 1024,
  profile: 256,
  language: 64,
  code: 131_072,
  /** 4,096 characters (the request limit) escaped at 6 bytes each: a valid purpose is never cut. */
  purpose: 24_576,
  fileName: 1024,
  fileNamesTotal: 20_000,
  /** `request.files` and `outcome.files` (name, bytes, sha256 each), in all, each list. */
  fileEntriesTotal: 16_000,
  decisionReason: 128,
  message: 4096,
  roleField: 1024,
  secretVariable: 256,
  secretVariablesTotal: 4096,
  errorName: 256,
  revocationField: 1024,
  /** #16: each string of a dataset object or artifact entry, and each list as a whole. */
  dataObjectField: 1024,
  dataObjectsTotal: 48_000,
} as const;

/** Bytes a string takes inside canonical JSON (what JSON.stringify writes, without the quotes). */
export function jsonStringBytes(value: string): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8') - 2;
}

function codePointJsonBytes(ch: string): number {
  const cp = ch.codePointAt(0) ?? 0;
  if (cp === 0x08 || cp === 0x09 || cp === 0x0a || cp === 0x0c || cp === 0x0d) return 2;
  if (cp < 0x20) return 6;
  if (cp === 0x22 || cp === 0x5c) return 2;
  if (cp < 0x80) return 1;
  if (cp < 0x800) return 2;
  if (cp >= 0xd800 && cp <= 0xdfff) return 6; // a lone surrogate: JSON.stringify writes \udxxx
  if (cp < 0x10000) return 3;
  return 4;
}

/** The longest prefix of `value` (whole code points) whose canonical JSON fits in `budget` bytes. */
export function jsonPrefix(value: string, budget: number): string {
  if (jsonStringBytes(value) <= budget) return value;
  let used = 0;
  let end = 0;
  for (const ch of value) {
    const cost = codePointJsonBytes(ch);
    if (used + cost > budget) break;
    used += cost;
    end += ch.length;
  }
  return value.slice(0, end);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Bounds one record: every field within its budget, the whole within MAX_AUDIT_RECORD_BYTES. */
export function boundAuditRecord(record: AuditRecord): AuditRecord {
  const cuts = new Map<string, AuditCut>((record.cut ?? []).map((c) => [c.field, c]));
  const text = (field: string, value: string | undefined, budget: number): string | undefined => {
    if (value === undefined || typeof value !== 'string') return value;
    const kept = jsonPrefix(value, budget);
    if (kept.length === value.length) return value;
    cuts.set(field, {
      field,
      bytes: Buffer.byteLength(value, 'utf8'),
      sha256: sha256Hex(value),
      keptBytes: Buffer.byteLength(kept, 'utf8'),
    });
    return kept;
  };
  const B = AUDIT_FIELD_BUDGETS;
  const list = (
    field: string,
    values: readonly string[] | undefined,
    each: number,
    total: number,
  ): readonly string[] | undefined =>
    boundList(cuts, field, values, total, (value) => {
      const item = jsonPrefix(String(value), each);
      return { item, cost: jsonStringBytes(item) + 3, shortened: item.length !== String(value).length };
    });
  const files = (
    field: string,
    entries: readonly AuditFile[] | undefined,
  ): readonly AuditFile[] | undefined =>
    boundList(cuts, field, entries, B.fileEntriesTotal, (entry) => {
      const name = jsonPrefix(String(entry.name), B.fileName);
      const item = { name, bytes: entry.bytes, sha256: entry.sha256 };
      const cost = Buffer.byteLength(JSON.stringify(item), 'utf8') + 1;
      return { item, cost, shortened: name.length !== String(entry.name).length };
    });
  const strings = <T extends object>(prefix: string, value: T, budget: number, skip: string[] = []): T => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = typeof v === 'string' && !skip.includes(k) ? text(`${prefix}.${k}`, v, budget) : v;
    }
    return out as T;
  };
  const out: Mutable<AuditRecord> = { ...record };
  out.caller = strings('caller', record.caller, B.callerField);
  const request: Mutable<AuditRecord['request']> = { ...record.request };
  request.profile = text('request.profile', request.profile, B.profile);
  request.language = text('request.language', request.language, B.language) as typeof request.language;
  request.code = text('request.code', request.code, B.code);
  request.purpose = text('request.purpose', request.purpose, B.purpose);
  request.fileNames = list('request.fileNames', request.fileNames, B.fileName, B.fileNamesTotal);
  request.files = files('request.files', request.files);
  out.request = dropUndefined(request);
  out.decision = dropUndefined({
    ...record.decision,
    reason: text('decision.reason', record.decision.reason, B.decisionReason) as string,
    message: text('decision.message', record.decision.message, B.message),
  });
  if (record.role !== undefined) out.role = strings('role', record.role, B.roleField);
  if (record.secretVariables !== undefined) {
    out.secretVariables = list(
      'secretVariables',
      record.secretVariables,
      B.secretVariable,
      B.secretVariablesTotal,
    );
  }
  if (record.outcome !== undefined) {
    out.outcome = dropUndefined({
      ...record.outcome,
      errorName: text('outcome.errorName', record.outcome.errorName, B.errorName),
      errorMessage: text('outcome.errorMessage', record.outcome.errorMessage, B.message),
      files: files('outcome.files', record.outcome.files),
      datasets: boundObjects(cuts, 'outcome.datasets', record.outcome.datasets),
      artifacts: boundObjects(cuts, 'outcome.artifacts', record.outcome.artifacts),
    });
  }
  if (record.revocation !== undefined) {
    out.revocation = dropUndefined({
      ...strings('revocation', record.revocation, B.revocationField, ['reason']),
      reason: text('revocation.reason', record.revocation.reason, B.message),
    });
  }
  if (cuts.size > 0) out.cut = [...cuts.values()].sort((a, b) => a.field.localeCompare(b.field));
  // The budgets above keep a record far below the limit; this guards against fields added later.
  for (const field of ['request.code', 'request.purpose', 'request.fileNames', 'request.files'] as const) {
    if (recordJsonBytes(out) <= MAX_AUDIT_RECORD_BYTES) break;
    const r: Mutable<AuditRecord['request']> = { ...out.request };
    const key = field.slice('request.'.length) as 'code' | 'purpose' | 'fileNames' | 'files';
    const whole = r[key];
    if (whole === undefined) continue;
    const wholeText = typeof whole === 'string' ? whole : JSON.stringify(whole);
    const previous = cuts.get(field);
    cuts.set(field, {
      field,
      bytes: previous?.bytes ?? Buffer.byteLength(wholeText, 'utf8'),
      sha256: previous?.sha256 ?? sha256Hex(wholeText),
      keptBytes: 0,
    });
    delete r[key];
    out.request = r;
    out.cut = [...cuts.values()].sort((a, b) => a.field.localeCompare(b.field));
  }
  if (recordJsonBytes(out) > MAX_AUDIT_RECORD_BYTES) {
    throw new RangeError(
      `audit record ${record.executionId}/${record.event} is ${recordJsonBytes(out)} bytes after bounding; the limit is ${MAX_AUDIT_RECORD_BYTES}`,
    );
  }
  return out;
}

/**
 * #16: a list of dataset objects or artifacts, each string within its budget and the list within
 * its total; a list that had to be cut keeps a prefix and is named in `cuts` (sha256 of its JSON).
 */
function boundObjects<T extends object>(
  cuts: Map<string, AuditCut>,
  field: string,
  values: readonly T[] | undefined,
): readonly T[] | undefined {
  const B = AUDIT_FIELD_BUDGETS;
  return boundList(cuts, field, values, B.dataObjectsTotal, (value) => {
    const item = Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        typeof v === 'string' ? jsonPrefix(v, B.dataObjectField) : v,
      ]),
    ) as T;
    const json = JSON.stringify(item);
    return { item, cost: Buffer.byteLength(json, 'utf8') + 1, shortened: json !== JSON.stringify(value) };
  });
}

/**
 * Keeps the leading items of a list whose JSON fits `total` bytes (each item shortened by `shrink`);
 * a list that was cut or shortened is named in `cuts` with its whole size and sha256.
 */
function boundList<V, K>(
  cuts: Map<string, AuditCut>,
  field: string,
  values: readonly V[] | undefined,
  total: number,
  shrink: (value: V) => { readonly item: K; readonly cost: number; readonly shortened: boolean },
): readonly K[] | undefined {
  if (values === undefined) return undefined;
  const kept: K[] = [];
  let used = 2;
  let cut = false;
  for (const value of values) {
    const { item, cost, shortened } = shrink(value);
    if (shortened || used + cost > total) cut = true;
    if (used + cost > total) break;
    kept.push(item);
    used += cost;
  }
  if (cut) {
    const whole = JSON.stringify(values);
    cuts.set(field, {
      field,
      bytes: Buffer.byteLength(whole, 'utf8'),
      sha256: sha256Hex(whole),
      keptBytes: Buffer.byteLength(JSON.stringify(kept), 'utf8'),
    });
  }
  return kept;
}

/** An upper bound of the record's canonical JSON size (same strings, same escapes, sorted keys). */
function recordJsonBytes(record: AuditRecord): number {
  return Buffer.byteLength(JSON.stringify(record), 'utf8');
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
