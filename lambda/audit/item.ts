/**
 * How audit records and digests are laid out in the audit table (`lambda/core/audit-table.ts`).
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
import { type AttributeValue, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { AUDIT_EVENTS, type AuditEvent, type AuditRecord } from '../core/audit-record.ts';
import { AUDIT_TABLE } from '../core/audit-table.ts';
import { canonicalJson, sha256Hex } from '../core/canonical-json.ts';

export type Item = Record<string, AttributeValue>;

/**
 * The PutItem of a new item: DynamoDB refuses it (ConditionalCheckFailedException) when an item
 * with the same key exists, so a write never replaces what is in the table.
 */
export function putNewItemCommand(tableName: string, item: Item): PutItemCommand {
  return new PutItemCommand({
    TableName: tableName,
    Item: item,
    ConditionExpression: 'attribute_not_exists(#pk)',
    ExpressionAttributeNames: { '#pk': AUDIT_TABLE.partitionKey },
  });
}

export const RECORD_PK_PREFIX = 'exec#';
export const DIGEST_PK = 'digest';
export const DIGEST_PART_PK_PREFIX = 'dpart#';
export const TIME_BUCKET_PREFIX = 't#';

const { partitionKey: PK, sortKey: SK } = AUDIT_TABLE;
const GSI1PK = AUDIT_TABLE.byTimeIndex.partitionKey;
const GSI1SK = AUDIT_TABLE.byTimeIndex.sortKey;
const CALLER = AUDIT_TABLE.byCallerIndex.partitionKey;
const TIMESTAMP = AUDIT_TABLE.byCallerIndex.sortKey;

// ---------------------------------------------------------------- keys and time buckets

export function recordKey(executionId: string, event: AuditEvent): Item {
  return { [PK]: { S: `${RECORD_PK_PREFIX}${executionId}` }, [SK]: { S: event } };
}

export function digestKey(sequence: number): Item {
  return { [PK]: { S: DIGEST_PK }, [SK]: { S: digestSortKey(sequence) } };
}

export function digestSortKey(sequence: number): string {
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
export function shardOf(executionId: string, shards: number): number {
  if (shards <= 1) return 0;
  return Number.parseInt(sha256Hex(executionId).slice(0, 8), 16) % shards;
}

/** The byTime partition of an instant and shard. Shard 0 has no suffix, so adding shards later keeps old items reachable. */
export function timeBucket(iso: string, shard: number): string {
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

/** A record as it sits in the table: the exact JSON that was hashed, its hash, and when it was written. */
export interface StoredRecord {
  readonly record: AuditRecord;
  readonly recordJson: string;
  readonly recordSha256: string;
  readonly writtenAt: string;
}

export function recordToItem(record: AuditRecord, writtenAt: string, shards: number): Item {
  const recordJson = canonicalJson(record);
  return {
    ...recordKey(record.executionId, record.event),
    itemType: { S: 'record' },
    record: { S: recordJson },
    recordSha256: { S: sha256Hex(recordJson) },
    writtenAt: { S: writtenAt },
    [GSI1PK]: { S: timeBucket(writtenAt, shardOf(record.executionId, shards)) },
    [GSI1SK]: { S: `${writtenAt}#${record.executionId}#${record.event}` },
    [CALLER]: { S: record.caller.arn },
    [TIMESTAMP]: { S: record.timestamp },
  };
}

/**
 * An item's size as DynamoDB counts it against its 400 KB limit: for each attribute, the UTF-8
 * bytes of its name plus its value (strings: UTF-8 bytes; numbers: at most their digits; binary:
 * its bytes). A safe upper bound for the attribute types custody writes.
 */
export function itemSizeBytes(item: Item): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    bytes += Buffer.byteLength(name, 'utf8');
    if (value.S !== undefined) bytes += Buffer.byteLength(value.S, 'utf8');
    else if (value.N !== undefined) bytes += value.N.length + 1;
    else if (value.B !== undefined) bytes += value.B.byteLength;
    else bytes += Buffer.byteLength(JSON.stringify(value), 'utf8');
  }
  return bytes;
}

export function isRecordItem(item: Item): boolean {
  return item[PK]?.S?.startsWith(RECORD_PK_PREFIX) === true;
}

export function isDigestItem(item: Item): boolean {
  return item[PK]?.S === DIGEST_PK;
}

export function str(item: Item, name: string): string | undefined {
  return item[name]?.S;
}

/** Where an item sits: `pk / sk`, for messages. */
export function describeKey(item: Item): string {
  return `${str(item, PK) ?? '?'} / ${str(item, SK) ?? '?'}`;
}

export type ReadRecordResult = { ok: true; stored: StoredRecord } | { ok: false; message: string };

/**
 * Reads a record item back. Checks only that it parses as a record (integrity — hashes, index
 * attributes, digests — is `verify.ts`'s job).
 */
export function readRecordItem(item: Item): ReadRecordResult {
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

export function digestToItem(digest: SignedDigest): Item {
  return {
    ...digestKey(digest.body.sequence),
    itemType: { S: 'digest' },
    body: { S: digest.bodyJson },
    digestSha256: { S: digest.digestSha256 },
    signature: { S: digest.signature },
    sequence: { N: String(digest.body.sequence) },
  };
}

export function partToItem(pk: string, sk: string, entriesJson: string): Item {
  return {
    [PK]: { S: pk },
    [SK]: { S: sk },
    itemType: { S: 'digestPart' },
    entries: { S: entriesJson },
    sha256: { S: sha256Hex(entriesJson) },
  };
}
