/**
 * How audit records and digests are laid out in the audit table (`lambda/core/audit-table.ts`),
 * as plain attribute maps: the DynamoDB adapter marshals them (`lambda/adapters/aws/audit-item.ts`).
 *
 * Record item (one per execution event, written once, never updated):
 *   pk            `exec#<executionId>`
 *   sk            the event (`started` | `completed` | `denied`)
 *   itemType      `record`
 *   record        the canonical JSON of the AuditRecord: what is hashed, and what is read back
 *   recordSha256  sha256 (hex) of `record`
 *   writtenAt     ISO instant the store wrote the item (the writer's clock, per attempt)
 *   gsi1pk        time bucket of `writtenAt`: `t#YYYY-MM-DDTHH`, or `t#YYYY-MM-DDTHH#<shard>` for shard >= 1
 *   gsi1sk        `<writtenAt>#<executionId>#<event>` (byTime index: the digest walks this)
 *   callerArn     record.caller.arn   (byCaller index partition)
 *   timestamp     record.timestamp    (byCaller index sort)
 *
 * Digest head (one per digest period, signed):
 *   pk `digest`, sk `seq#<12-digit sequence>`, itemType `digest`, body (canonical JSON of the
 *   DigestBody, what is hashed and signed), digestSha256, signature (base64 DER ECDSA), sequence (N).
 * Digest part (the covered entries, split so no item nears the 400 KB limit):
 *   pk `dpart#<12-digit sequence>`, sk `<attemptId>#<4-digit index>`, itemType `digestPart`,
 *   entries (canonical JSON array of DigestEntry), sha256 (hex of `entries`).
 */
import type { AuditItem, StoredRecord } from '../core/audit-chain.ts';
import { AUDIT_EVENTS, type AuditEvent, type AuditRecord } from '../core/audit-record.ts';
import { AUDIT_TABLE } from '../core/audit-table.ts';
import { canonicalJson, sha256Hex } from '../core/canonical-json.ts';

export type { AuditItem, StoredRecord } from '../core/audit-chain.ts';

export const RECORD_PK_PREFIX = 'exec#';
export const DIGEST_PK = 'digest';
export const DIGEST_PART_PK_PREFIX = 'dpart#';
const TIME_BUCKET_PREFIX = 't#';

const { partitionKey: PK, sortKey: SK } = AUDIT_TABLE;
const GSI1PK = AUDIT_TABLE.byTimeIndex.partitionKey;
const GSI1SK = AUDIT_TABLE.byTimeIndex.sortKey;
const CALLER = AUDIT_TABLE.byCallerIndex.partitionKey;
const TIMESTAMP = AUDIT_TABLE.byCallerIndex.sortKey;

// ---------------------------------------------------------------- keys and time buckets

export function recordKey(executionId: string, event: AuditEvent): { [PK]: string; [SK]: string } {
  return { [PK]: `${RECORD_PK_PREFIX}${executionId}`, [SK]: event };
}

export function digestKey(sequence: number): { [PK]: string; [SK]: string } {
  return { [PK]: DIGEST_PK, [SK]: digestSortKey(sequence) };
}

function digestSortKey(sequence: number): string {
  return `seq#${String(sequence).padStart(12, '0')}`;
}

export function digestPartPk(sequence: number): string {
  return `${DIGEST_PART_PK_PREFIX}${String(sequence).padStart(12, '0')}`;
}

/** The hour of an ISO instant: `YYYY-MM-DDTHH`. */
function hourOf(iso: string): string {
  return iso.slice(0, 13);
}

/** Which byTime shard an execution's events go to (stable; shard 0 when there is one shard). */
function shardOf(executionId: string, shards: number): number {
  if (shards <= 1) return 0;
  return Number.parseInt(sha256Hex(executionId).slice(0, 8), 16) % shards;
}

/** The byTime partition of an instant and shard. Shard 0 has no suffix, so adding shards later keeps old items reachable. */
function timeBucket(iso: string, shard: number): string {
  const base = `${TIME_BUCKET_PREFIX}${hourOf(iso)}`;
  return shard === 0 ? base : `${base}#${shard}`;
}

/** Every byTime partition holding instants in [from, to] (inclusive hours), oldest first. */
export function timeBuckets(from: Date, to: Date, shards: number): string[] {
  const buckets: string[] = [];
  const hourMs = 3_600_000;
  const first = Math.floor(from.getTime() / hourMs) * hourMs;
  for (let t = first; t <= to.getTime(); t += hourMs) {
    const iso = new Date(t).toISOString();
    for (let shard = 0; shard < Math.max(1, shards); shard++) buckets.push(timeBucket(iso, shard));
  }
  return buckets;
}

// ---------------------------------------------------------------- records

export function recordToItem(record: AuditRecord, writtenAt: string, shards: number): AuditItem {
  const recordJson = canonicalJson(record);
  return {
    ...recordKey(record.executionId, record.event),
    itemType: 'record',
    record: recordJson,
    recordSha256: sha256Hex(recordJson),
    writtenAt,
    [GSI1PK]: timeBucket(writtenAt, shardOf(record.executionId, shards)),
    [GSI1SK]: `${writtenAt}#${record.executionId}#${record.event}`,
    [CALLER]: record.caller.arn,
    [TIMESTAMP]: record.timestamp,
  };
}

export function isRecordItem(item: AuditItem): boolean {
  return str(item, PK)?.startsWith(RECORD_PK_PREFIX) === true;
}

export function isDigestItem(item: AuditItem): boolean {
  return str(item, PK) === DIGEST_PK;
}

/** A string attribute; undefined if absent or of another type (a tampered item may hold anything). */
export function str(item: AuditItem, name: string): string | undefined {
  const value = item[name];
  return typeof value === 'string' ? value : undefined;
}

/** The execution and event a record item is stored under (from its key, whatever it holds). */
export function recordIdOf(item: AuditItem): { executionId: string; event: string } {
  const pk = str(item, PK) ?? '';
  return { executionId: pk.slice(RECORD_PK_PREFIX.length), event: str(item, SK) ?? '' };
}

/** Where an item sits: `pk / sk`, for messages. */
function describeKey(item: AuditItem): string {
  return `${str(item, PK) ?? '?'} / ${str(item, SK) ?? '?'}`;
}

export type ReadRecordResult = { ok: true; stored: StoredRecord } | { ok: false; message: string };

/**
 * Reads a record item back. Checks only that it parses as a record (integrity — hashes, index
 * attributes, digests — is `verify-chain.ts`'s job).
 */
export function readRecordItem(item: AuditItem): ReadRecordResult {
  const recordJson = str(item, 'record');
  const recordSha256 = str(item, 'recordSha256');
  const writtenAt = str(item, 'writtenAt');
  if (recordJson === undefined || recordSha256 === undefined || writtenAt === undefined) {
    return { ok: false, message: `item ${describeKey(item)} lacks record, recordSha256 or writtenAt` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(recordJson);
  } catch {
    return { ok: false, message: `item ${describeKey(item)} holds a record that is not JSON` };
  }
  const shapeProblem = recordShapeProblem(parsed);
  if (shapeProblem !== undefined) return { ok: false, message: `item ${describeKey(item)}: ${shapeProblem}` };
  return { ok: true, stored: { record: parsed as AuditRecord, recordJson, recordSha256, writtenAt } };
}

const MAX_EXECUTION_ID_CHARS = 256;

/** Names what makes a value unfit to be stored as an audit record, or undefined if it is fit. */
export function recordShapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'the record is not an object';
  const r = value as Record<string, unknown>;
  if (r.schemaVersion !== 1) return 'schemaVersion must be 1';
  if (typeof r.executionId !== 'string' || r.executionId.length === 0)
    return 'executionId must be a non-empty string';
  if (r.executionId.length > MAX_EXECUTION_ID_CHARS || r.executionId.includes('#')) {
    return `executionId must be at most ${MAX_EXECUTION_ID_CHARS} characters without '#'`;
  }
  if (!AUDIT_EVENTS.includes(r.event as AuditEvent)) return `event must be one of ${AUDIT_EVENTS.join(', ')}`;
  if (typeof r.timestamp !== 'string' || Number.isNaN(Date.parse(r.timestamp))) {
    return 'timestamp must be an ISO-8601 instant';
  }
  const caller = r.caller as Record<string, unknown> | undefined;
  if (
    typeof caller !== 'object' ||
    caller === null ||
    typeof caller.arn !== 'string' ||
    caller.arn.length === 0
  ) {
    return 'caller.arn must be a non-empty string';
  }
  return undefined;
}

// ---------------------------------------------------------------- digests

/** One record a digest covers. */
export interface DigestEntry {
  readonly executionId: string;
  readonly event: AuditEvent;
  readonly timestamp: string;
  readonly writtenAt: string;
  readonly recordSha256: string;
}

/** Where a digest's entries are stored, and their hash. */
export interface DigestPartRef {
  readonly pk: string;
  readonly sk: string;
  readonly count: number;
  /** sha256 (hex) of the part's `entries` attribute (canonical JSON array of DigestEntry). */
  readonly sha256: string;
}

export const SIGNING_ALGORITHM = 'ECDSA_SHA_256';

/** What a digest says, and what is hashed and signed (as canonical JSON). */
export interface DigestBody {
  readonly schemaVersion: 1;
  readonly sequence: number;
  /** `digestSha256` of digest `sequence - 1`; null for the first digest. */
  readonly previousDigestSha256: string | null;
  /** Covers records whose `writtenAt` is in [periodStart, periodEnd). */
  readonly periodStart: string;
  readonly periodEnd: string;
  readonly createdAt: string;
  readonly keyId: string;
  readonly signingAlgorithm: typeof SIGNING_ALGORITHM;
  readonly recordCount: number;
  readonly parts: readonly DigestPartRef[];
}

export interface SignedDigest {
  readonly body: DigestBody;
  /** canonicalJson(body): the bytes that were hashed and signed. */
  readonly bodyJson: string;
  readonly digestSha256: string;
  /** Base64 of the DER-encoded ECDSA signature over `bodyJson` (SHA-256). */
  readonly signature: string;
}

export function digestToItem(digest: SignedDigest): AuditItem {
  return {
    ...digestKey(digest.body.sequence),
    itemType: 'digest',
    body: digest.bodyJson,
    digestSha256: digest.digestSha256,
    signature: digest.signature,
    sequence: digest.body.sequence,
  };
}

export function partToItem(pk: string, sk: string, entriesJson: string): AuditItem {
  return {
    [PK]: pk,
    [SK]: sk,
    itemType: 'digestPart',
    entries: entriesJson,
    sha256: sha256Hex(entriesJson),
  };
}

export type ReadDigestResult =
  | { readonly ok: true; readonly digest: SignedDigest; readonly storedSequence: number }
  | { readonly ok: false; readonly storedSequence: number; readonly message: string };

/** Parses a digest head item (no signature check: see `verify-digest.ts`). */
export function readDigestItem(item: AuditItem): ReadDigestResult {
  const sk = str(item, SK) ?? '';
  const storedSequence = Number.parseInt(sk.replace(/^seq#/, ''), 10);
  const bodyJson = str(item, 'body');
  const digestSha256 = str(item, 'digestSha256');
  const signature = str(item, 'signature');
  if (bodyJson === undefined || digestSha256 === undefined || signature === undefined) {
    return { ok: false, storedSequence, message: `digest item ${sk} lacks body, digestSha256 or signature` };
  }
  let body: DigestBody;
  try {
    body = JSON.parse(bodyJson) as DigestBody;
  } catch {
    return { ok: false, storedSequence, message: `digest item ${sk} has a body that is not JSON` };
  }
  if (
    typeof body !== 'object' ||
    body === null ||
    typeof body.sequence !== 'number' ||
    !Array.isArray(body.parts)
  ) {
    return { ok: false, storedSequence, message: `digest item ${sk} has a body that is not a digest` };
  }
  return { ok: true, digest: { body, bodyJson, digestSha256, signature }, storedSequence };
}
