/**
 * Verifies the audit trail, as CloudTrail's validator verifies log files against digest files:
 * the digest chain (signatures, sequence, links, periods), then every record each digest covers
 * (present, unchanged, in its place), then that no record was added to a digested period.
 * Returns the FIRST problem in chain order, named: modified, deleted, inserted, reordered,
 * signature_invalid or chain_broken. Records newer than the last digest are "not yet covered".
 *
 * By default it reads the whole table (Scan), so even a forged item without index attributes is
 * found. `recentDigests: n` checks only the last n digests and reads records through the byTime
 * index (cheap enough to run after every digest; the full check catches what the index hides).
 */

import type { KeyObject } from 'node:crypto';
import { type DynamoDBClient, GetItemCommand, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbAuditStore } from '../adapters/aws/dynamodb-audit-store.ts';
import type { AuditRecord } from '../core/audit-record.ts';
import { type AuditSigner, type PublicKeyInput, toPublicKey, verifySignature } from '../core/audit-signer.ts';
import { AUDIT_TABLE } from '../core/audit-table.ts';
import { canonicalJson, sha256Hex } from '../core/canonical-json.ts';
import type { Clock } from '../core/ports.ts';
import type { DigestAnchor } from './audit-log-line.ts';
import { readDigestItem } from './digest.ts';
import { AuditReadError, describeError } from './errors.ts';
import { findIncompleteExecutions, type IncompleteExecution } from './incomplete-executions.ts';
import {
  DIGEST_PK,
  type DigestEntry,
  type DigestPartRef,
  type Item,
  isDigestItem,
  isRecordItem,
  RECORD_PK_PREFIX,
  recordKey,
  type SignedDigest,
  str,
} from './item.ts';

export type { IncompleteExecution } from './incomplete-executions.ts';

export type TamperKind =
  | 'modified'
  | 'deleted'
  | 'inserted'
  | 'reordered'
  | 'signature_invalid'
  | 'chain_broken';

export interface VerifyProblem {
  readonly kind: TamperKind;
  readonly executionId?: string;
  readonly event?: string;
  readonly digestSequence?: number;
  readonly message: string;
}

export interface VerifySummary {
  /** Records checked against a digest. */
  readonly records: number;
  /** Digests checked. */
  readonly digests: number;
  /** Records written after the last digest's period (not yet covered; not an error). */
  readonly uncovered: number;
  readonly lastDigest?: {
    readonly sequence: number;
    readonly periodEnd: string;
    readonly digestSha256: string;
  };
  /** 'all' (whole table) or 'recent' (last n digests, via the index). */
  readonly scope: 'all' | 'recent';
  /**
   * Executions whose `started` record has no outcome (`completed` or `denied`) although their
   * deadline has passed: the outcome was lost, or is only in the audit log (pending reconciliation).
   * Not tampering, but not a complete trail either: the CLI reports INCOMPLETE.
   */
  readonly incomplete: readonly IncompleteExecution[];
}

export type VerifyResult =
  | ({ readonly ok: true } & VerifySummary)
  | ({ readonly ok: false; readonly problem: VerifyProblem } & VerifySummary);

export interface VerifyOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** The key digests are checked with (PEM, DER SPKI or KeyObject) ... */
  readonly publicKey?: PublicKeyInput;
  /** ... or the signer whose public key to use (KMS GetPublicKey on AWS). */
  readonly signer?: AuditSigner;
  /** Digests as the audit log recorded them: each must be in the table's chain, unchanged. */
  readonly anchors?: readonly DigestAnchor[];
  /** @default () => new Date() */
  readonly clock?: Clock;
  /**
   * The last digest must end no longer ago than this (else later digests were deleted, or the digest
   * job stopped), and no record older than this may be uncovered. `Infinity` disables. @default 3_600_000
   */
  readonly maxDigestLagMs?: number;
  /** Check only the last n digests, reading records through the byTime index. @default all, by Scan */
  readonly recentDigests?: number;
  /** Must match the store's. @default 1 */
  readonly timeShards?: number;
  /**
   * How long after a run's time limit its outcome may still be missing before it is reported
   * incomplete (the broker's STS, secrets and audit retries). @default 300_000
   */
  readonly outcomeMarginMs?: number;
}

const FUTURE_TOLERANCE_MS = 300_000;
const SEP = '\u0000';

interface Snapshot {
  /** Digest head items, oldest first. */
  readonly digests: Item[];
  /** Record items known up front (all of them for a full check). */
  readonly records: Map<string, Item>;
  getRecord(executionId: string, event: string): Promise<Item | undefined>;
  getPart(pk: string, sk: string): Promise<Item | undefined>;
  /** True if `digests[0]` must be the first digest ever (full check). */
  readonly fromGenesis: boolean;
}

export async function verifyAudit(options: VerifyOptions): Promise<VerifyResult> {
  const key = await resolveKey(options);
  const now = (options.clock ?? (() => new Date()))();
  const maxLagMs = options.maxDigestLagMs ?? 3_600_000;
  const snapshot =
    options.recentDigests === undefined
      ? await scanAll(options)
      : await readRecent(options, options.recentDigests);
  const scope = options.recentDigests === undefined ? 'all' : 'recent';

  let recordsChecked = 0;
  let digestsChecked = 0;
  let previous: SignedDigest | undefined;
  const covered = new Set<string>();
  const incomplete = await findIncompleteExecutions({
    records: snapshot.records.values(),
    // A recent check holds only the records written in its window: look an outcome up by key.
    lookup: snapshot.fromGenesis && snapshot.digests.length > 0 ? undefined : snapshot.getRecord,
    now,
    marginMs: options.outcomeMarginMs ?? 300_000,
  });
  const summary = (): VerifySummary => ({
    records: recordsChecked,
    digests: digestsChecked,
    uncovered: 0,
    scope,
    incomplete,
    ...(previous === undefined
      ? {}
      : {
          lastDigest: {
            sequence: previous.body.sequence,
            periodEnd: previous.body.periodEnd,
            digestSha256: previous.digestSha256,
          },
        }),
  });
  const fail = (problem: VerifyProblem): VerifyResult => ({ ok: false, problem, ...summary() });

  // Records written before the first checked period that no digest covers.
  const recordList = [...snapshot.records.values()].sort((a, b) =>
    (str(a, 'writtenAt') ?? '').localeCompare(str(b, 'writtenAt') ?? ''),
  );

  // Pass 1: parse each digest's entries so a record moved to another period counts as covered.
  const anchors = new Map((options.anchors ?? []).map((a) => [a.sequence, a.digestSha256]));
  const parsed: ({ digest: SignedDigest; entries: DigestEntry[] } | { problem: VerifyProblem })[] = [];
  for (const [index, item] of snapshot.digests.entries()) {
    const result = await checkDigestItem(item, key, snapshot);
    parsed.push(result);
    if ('problem' in result) break;
    // The predecessor in a recent check only anchors the chain: its records are not in scope.
    if (!snapshot.fromGenesis && index === 0) continue;
    for (const e of result.entries) covered.add(entryKey(e.executionId, e.event));
  }

  // Pass 2: in chain order.
  for (const [index, result] of parsed.entries()) {
    if ('problem' in result) return fail(result.problem);
    const { digest, entries } = result;
    const body = digest.body;
    const n = body.sequence;
    if (previous === undefined) {
      if (snapshot.fromGenesis && (n !== 1 || body.previousDigestSha256 !== null)) {
        return fail({
          kind: 'chain_broken',
          digestSequence: n,
          message: `the first digest in the table is digest ${n}: digests 1..${n - 1} were deleted`,
        });
      }
    } else {
      if (n !== previous.body.sequence + 1) {
        return fail({
          kind: 'chain_broken',
          digestSequence: previous.body.sequence + 1,
          message: `digest ${previous.body.sequence + 1} is missing: the table goes from digest ${previous.body.sequence} to ${n}`,
        });
      }
      if (body.previousDigestSha256 !== previous.digestSha256) {
        return fail({
          kind: 'chain_broken',
          digestSequence: n,
          message: `digest ${n} does not name digest ${n - 1} (${previous.digestSha256}) as its predecessor`,
        });
      }
      if (body.periodStart !== previous.body.periodEnd) {
        return fail({
          kind: 'chain_broken',
          digestSequence: n,
          message: `digest ${n} starts at ${body.periodStart}, not where digest ${n - 1} ended (${previous.body.periodEnd})`,
        });
      }
    }
    const anchored = anchors.get(n);
    if (anchored !== undefined && anchored !== digest.digestSha256) {
      return fail({
        kind: 'chain_broken',
        digestSequence: n,
        message: `digest ${n} in the table differs from digest ${n} in the audit log (${anchored})`,
      });
    }
    const checkRecords = snapshot.fromGenesis || index > 0;
    if (checkRecords) {
      if (previous === undefined) {
        // Nothing may be written before the first checked period and left uncovered.
        const early = recordList.find(
          (item) => (str(item, 'writtenAt') ?? '') < body.periodStart && !covered.has(itemKey(item)),
        );
        if (early !== undefined)
          return fail(inserted(early, n, `before digest ${n}'s period (${body.periodStart})`));
      }
      const problem = await checkPeriod(digest, entries, snapshot, recordList, covered);
      if (problem !== undefined) return fail(problem);
      recordsChecked += entries.length;
      digestsChecked++;
    }
    previous = digest;
  }

  // After the last digest.
  const lastEnd = previous?.body.periodEnd;
  let uncovered = 0;
  for (const item of recordList) {
    const key = itemKey(item);
    if (covered.has(key)) continue;
    const writtenAt = str(item, 'writtenAt');
    const writtenMs = writtenAt === undefined ? Number.NaN : Date.parse(writtenAt);
    if (Number.isNaN(writtenMs)) return fail(inserted(item, undefined, 'with no valid writtenAt'));
    if (lastEnd !== undefined && (writtenAt as string) < lastEnd) {
      return fail(inserted(item, previous?.body.sequence, `in a digested period (${writtenAt})`));
    }
    if (writtenMs > now.getTime() + FUTURE_TOLERANCE_MS) {
      return fail(inserted(item, undefined, `dated in the future (${writtenAt})`));
    }
    if (writtenMs < now.getTime() - maxLagMs) {
      return fail({
        kind: 'chain_broken',
        ...identify(item),
        message: `record written at ${writtenAt} is covered by no digest although it is older than ${maxLagMs} ms: later digests were deleted, or the digest job has stopped`,
      });
    }
    uncovered++;
  }
  if (previous !== undefined && Date.parse(previous.body.periodEnd) < now.getTime() - maxLagMs) {
    return fail({
      kind: 'chain_broken',
      digestSequence: previous.body.sequence + 1,
      message: `the last digest (${previous.body.sequence}) ends at ${previous.body.periodEnd}, more than ${maxLagMs} ms ago: later digests were deleted, or the digest job has stopped`,
    });
  }
  const lastAnchor = Math.max(0, ...anchors.keys());
  if (lastAnchor > (previous?.body.sequence ?? 0)) {
    return fail({
      kind: 'chain_broken',
      digestSequence: lastAnchor,
      message: `digest ${lastAnchor} is in the audit log but not in the table: digests after ${previous?.body.sequence ?? 0} were deleted`,
    });
  }
  return { ok: true, ...summary(), uncovered };
}

/** Checks a digest head's hash and signature and loads its entries (parts). */
async function checkDigestItem(
  item: Item,
  key: KeyObject,
  snapshot: Snapshot,
): Promise<{ digest: SignedDigest; entries: DigestEntry[] } | { problem: VerifyProblem }> {
  const read = readDigestItem(item);
  if (!read.ok)
    return {
      problem: { kind: 'signature_invalid', digestSequence: read.storedSequence, message: read.message },
    };
  const { digest, storedSequence } = read;
  const n = digest.body.sequence;
  if (sha256Hex(digest.bodyJson) !== digest.digestSha256) {
    return {
      problem: {
        kind: 'signature_invalid',
        digestSequence: n,
        message: `digest ${n} does not hash to its digestSha256: its body was modified`,
      },
    };
  }
  const signatureOk = verifySignature(
    Buffer.from(digest.bodyJson, 'utf8'),
    Buffer.from(digest.signature, 'base64'),
    key,
  );
  if (!signatureOk) {
    return {
      problem: {
        kind: 'signature_invalid',
        digestSequence: n,
        message: `digest ${n}'s signature does not verify with the audit public key (the digest names key ${digest.body.keyId}): it was modified or signed with another key`,
      },
    };
  }
  if (storedSequence !== n) {
    return {
      problem: {
        kind: 'reordered',
        digestSequence: n,
        message: `digest ${n} is stored in position ${storedSequence}: digests were moved`,
      },
    };
  }
  const entries: DigestEntry[] = [];
  for (const [index, ref] of digest.body.parts.entries()) {
    const part = await loadPart(ref, index, n, snapshot);
    if ('problem' in part) return part;
    entries.push(...part.entries);
  }
  if (entries.length !== digest.body.recordCount) {
    return {
      problem: {
        kind: 'deleted',
        digestSequence: n,
        message: `digest ${n} lists ${entries.length} records but was signed for ${digest.body.recordCount}`,
      },
    };
  }
  return { digest, entries };
}

async function loadPart(
  ref: DigestPartRef,
  index: number,
  n: number,
  snapshot: Snapshot,
): Promise<{ entries: DigestEntry[] } | { problem: VerifyProblem }> {
  const item = await snapshot.getPart(ref.pk, ref.sk);
  const json = item === undefined ? undefined : str(item, 'entries');
  if (json === undefined) {
    return {
      problem: {
        kind: 'deleted',
        digestSequence: n,
        message: `part ${index} of digest ${n}'s record list is missing`,
      },
    };
  }
  let entries: DigestEntry[];
  try {
    entries = JSON.parse(json) as DigestEntry[];
    if (!Array.isArray(entries)) throw new Error('not an array');
  } catch {
    return {
      problem: {
        kind: 'modified',
        digestSequence: n,
        message: `part ${index} of digest ${n}'s record list is not JSON`,
      },
    };
  }
  if (sha256Hex(json) === ref.sha256) return { entries };
  // Tell apart what was done to the list: entries dropped, shuffled, or altered.
  if (entries.length < ref.count) {
    return {
      problem: {
        kind: 'deleted',
        digestSequence: n,
        message: `part ${index} of digest ${n}'s record list holds ${entries.length} entries; ${ref.count} were signed`,
      },
    };
  }
  const sorted = [...entries].sort((a, b) => entrySortKey(a).localeCompare(entrySortKey(b)));
  if (sha256Hex(canonicalJson(sorted)) === ref.sha256) {
    return {
      problem: {
        kind: 'reordered',
        digestSequence: n,
        message: `the entries of digest ${n}'s record list were reordered`,
      },
    };
  }
  return {
    problem: {
      kind: 'modified',
      digestSequence: n,
      message: `part ${index} of digest ${n}'s record list does not hash to what the digest signed`,
    },
  };
}

/** Checks every entry of one digest and that no other record was written in its period. */
async function checkPeriod(
  digest: SignedDigest,
  entries: readonly DigestEntry[],
  snapshot: Snapshot,
  recordList: readonly Item[],
  covered: ReadonlySet<string>,
): Promise<VerifyProblem | undefined> {
  const { sequence: n, periodStart, periodEnd } = digest.body;
  // Problems are found per entry and per stray record; the first in write order is reported.
  const found: { at: string; problem: VerifyProblem }[] = [];
  for (const entry of entries) {
    const item = await snapshot.getRecord(entry.executionId, entry.event);
    const problem = checkEntry(entry, item, n);
    if (problem !== undefined) {
      found.push({ at: entry.writtenAt, problem });
      break;
    }
  }
  const stray = recordList.find((item) => {
    const at = str(item, 'writtenAt') ?? '';
    return at >= periodStart && at < periodEnd && !covered.has(itemKey(item));
  });
  if (stray !== undefined) {
    found.push({ at: str(stray, 'writtenAt') ?? '', problem: inserted(stray, n, `in digest ${n}'s period`) });
  }
  found.sort((a, b) => a.at.localeCompare(b.at));
  return found[0]?.problem;
}

function checkEntry(entry: DigestEntry, item: Item | undefined, n: number): VerifyProblem | undefined {
  const who = { executionId: entry.executionId, event: entry.event, digestSequence: n };
  if (item === undefined) {
    return {
      kind: 'deleted',
      ...who,
      message: `record ${entry.executionId}/${entry.event} listed in digest ${n} is missing`,
    };
  }
  const json = str(item, 'record');
  if (json === undefined) {
    return {
      kind: 'modified',
      ...who,
      message: `record ${entry.executionId}/${entry.event} has no record attribute`,
    };
  }
  if (sha256Hex(json) !== entry.recordSha256) {
    const retimed = retimedHash(json, entry.timestamp);
    if (retimed !== undefined && retimed.hash === entry.recordSha256) {
      return {
        kind: 'reordered',
        ...who,
        message: `record ${entry.executionId}/${entry.event} was moved in time: timestamp ${retimed.was} was ${entry.timestamp} when digest ${n} was made`,
      };
    }
    return {
      kind: 'modified',
      ...who,
      message: `record ${entry.executionId}/${entry.event} does not hash to the sha256 digest ${n} recorded: its content was changed`,
    };
  }
  const record = JSON.parse(json) as AuditRecord;
  const attr = (name: string): string | undefined => str(item, name);
  if (attr('recordSha256') !== entry.recordSha256) {
    return {
      kind: 'modified',
      ...who,
      message: `record ${entry.executionId}/${entry.event}'s recordSha256 attribute was changed`,
    };
  }
  if (record.executionId !== entry.executionId || record.event !== entry.event) {
    return {
      kind: 'modified',
      ...who,
      message: `record ${entry.executionId}/${entry.event} holds another record's content`,
    };
  }
  const callerArn = attr(AUDIT_TABLE.byCallerIndex.partitionKey);
  if (callerArn !== record.caller.arn) {
    return {
      kind: 'modified',
      ...who,
      message: `record ${entry.executionId}/${entry.event}'s callerArn attribute (${callerArn}) disagrees with the record (${record.caller.arn})`,
    };
  }
  const writtenAt = attr('writtenAt');
  const gsi1pk = attr(AUDIT_TABLE.byTimeIndex.partitionKey) ?? '';
  const gsi1sk = attr(AUDIT_TABLE.byTimeIndex.sortKey);
  const timestamp = attr(AUDIT_TABLE.byCallerIndex.sortKey);
  if (
    writtenAt !== entry.writtenAt ||
    gsi1sk !== `${entry.writtenAt}#${entry.executionId}#${entry.event}` ||
    !gsi1pk.startsWith(`t#${entry.writtenAt.slice(0, 13)}`) ||
    timestamp !== record.timestamp
  ) {
    return {
      kind: 'reordered',
      ...who,
      message: `record ${entry.executionId}/${entry.event}'s time attributes were changed (writtenAt ${writtenAt}, recorded ${entry.writtenAt}): it was moved in the time order`,
    };
  }
  return undefined;
}

/** The hash the record would have with its timestamp put back. */
function retimedHash(json: string, timestamp: string): { hash: string; was: string } | undefined {
  try {
    const record = JSON.parse(json) as Record<string, unknown>;
    const was = String(record.timestamp);
    return { hash: sha256Hex(canonicalJson({ ...record, timestamp })), was };
  } catch {
    return undefined;
  }
}

function inserted(item: Item, digestSequence: number | undefined, where: string): VerifyProblem {
  const who = identify(item);
  return {
    kind: 'inserted',
    ...who,
    ...(digestSequence === undefined ? {} : { digestSequence }),
    message: `record ${who.executionId}/${who.event} is in no digest although written ${where}: it was inserted`,
  };
}

function identify(item: Item): { executionId: string; event: string } {
  const pk = str(item, AUDIT_TABLE.partitionKey) ?? '';
  return { executionId: pk.slice(RECORD_PK_PREFIX.length), event: str(item, AUDIT_TABLE.sortKey) ?? '' };
}

function entryKey(executionId: string, event: string): string {
  return `${executionId}${SEP}${event}`;
}

function itemKey(item: Item): string {
  const { executionId, event } = identify(item);
  return entryKey(executionId, event);
}

function entrySortKey(e: DigestEntry): string {
  return `${e.writtenAt}#${e.executionId}#${e.event}`;
}

async function resolveKey(options: VerifyOptions): Promise<KeyObject> {
  if (options.publicKey !== undefined) return toPublicKey(options.publicKey);
  if (options.signer !== undefined) return options.signer.publicKey();
  throw new TypeError('verifyAudit needs publicKey or signer');
}

// ---------------------------------------------------------------- reading the table

async function scanAll(options: VerifyOptions): Promise<Snapshot> {
  const digests: Item[] = [];
  const records = new Map<string, Item>();
  const parts = new Map<string, Item>();
  let start: Item | undefined;
  do {
    let out: Awaited<ReturnType<typeof scanPage>>;
    try {
      out = await scanPage(options, start);
    } catch (error) {
      throw new AuditReadError(`could not scan audit table ${options.tableName}: ${describeError(error)}`, {
        cause: error,
      });
    }
    for (const item of out.Items ?? []) {
      if (isRecordItem(item)) records.set(itemKey(item), item);
      else if (isDigestItem(item)) digests.push(item);
      else parts.set(`${str(item, AUDIT_TABLE.partitionKey)}${SEP}${str(item, AUDIT_TABLE.sortKey)}`, item);
    }
    start = out.LastEvaluatedKey;
  } while (start !== undefined);
  digests.sort((a, b) =>
    (str(a, AUDIT_TABLE.sortKey) ?? '').localeCompare(str(b, AUDIT_TABLE.sortKey) ?? ''),
  );
  return {
    digests,
    records,
    fromGenesis: true,
    getRecord: async (executionId, event) => records.get(entryKey(executionId, event)),
    getPart: async (pk, sk) => parts.get(`${pk}${SEP}${sk}`),
  };
}

function scanPage(options: VerifyOptions, start: Item | undefined) {
  return options.client.send(
    new ScanCommand({
      TableName: options.tableName,
      ConsistentRead: true,
      ...(start === undefined ? {} : { ExclusiveStartKey: start }),
    }),
  );
}

async function readRecent(options: VerifyOptions, count: number): Promise<Snapshot> {
  const getItem = async (pk: string, sk: string): Promise<Item | undefined> => {
    try {
      const out = await options.client.send(
        new GetItemCommand({
          TableName: options.tableName,
          Key: { [AUDIT_TABLE.partitionKey]: { S: pk }, [AUDIT_TABLE.sortKey]: { S: sk } },
          ConsistentRead: true,
        }),
      );
      return out.Item;
    } catch (error) {
      throw new AuditReadError(
        `could not read ${pk}/${sk} from ${options.tableName}: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
  };
  let digests: Item[];
  try {
    const out = await options.client.send(
      new QueryCommand({
        TableName: options.tableName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': AUDIT_TABLE.partitionKey },
        ExpressionAttributeValues: { ':pk': { S: DIGEST_PK } },
        ScanIndexForward: false,
        // One more than checked: the predecessor anchors the first checked digest's link.
        Limit: Math.max(1, count) + 1,
        ConsistentRead: true,
      }),
    );
    digests = (out.Items ?? []).reverse();
  } catch (error) {
    throw new AuditReadError(
      `could not read audit digests from ${options.tableName}: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }
  const fromGenesis = digests.length <= count;
  const first = digests[fromGenesis ? 0 : 1];
  const firstRead = first === undefined ? undefined : readDigestItem(first);
  const from = firstRead?.ok === true ? new Date(firstRead.digest.body.periodStart) : new Date(0);
  const store = new DynamoDbAuditStore({
    client: options.client,
    tableName: options.tableName,
    timeShards: options.timeShards ?? 1,
  });
  const now = (options.clock ?? (() => new Date()))();
  const records = new Map<string, Item>();
  if (first !== undefined || !fromGenesis) {
    for (const stored of await store.listWrittenBetween(
      from,
      new Date(now.getTime() + FUTURE_TOLERANCE_MS),
    )) {
      const item = await getItem(`${RECORD_PK_PREFIX}${stored.record.executionId}`, stored.record.event);
      if (item !== undefined) records.set(itemKey(item), item);
    }
  }
  return {
    digests,
    records,
    fromGenesis,
    getRecord: async (executionId, event) => {
      const known = records.get(entryKey(executionId, event));
      if (known !== undefined) return known;
      const key = recordKey(executionId as string, event as AuditRecord['event']);
      return getItem(key[AUDIT_TABLE.partitionKey]?.S ?? '', key[AUDIT_TABLE.sortKey]?.S ?? '');
    },
    getPart: getItem,
  };
}

// ---------------------------------------------------------------- report

/** A report for people: what was checked and, if something is wrong, the first bad record. */
export function formatVerifyReport(result: VerifyResult): string {
  const lines: string[] = [];
  const scope = result.scope === 'all' ? 'whole table' : 'recent digests';
  const incomplete = result.incomplete ?? [];
  if (result.ok && incomplete.length > 0) {
    lines.push(
      `audit verification: INCOMPLETE (${incomplete.length} execution${incomplete.length === 1 ? '' : 's'} started with no outcome after the deadline; no tampering found)`,
    );
  } else if (result.ok) {
    lines.push('audit verification: INTACT');
  } else {
    const p = result.problem;
    lines.push(`audit verification: FAILED (${p.kind.replace('_', ' ')})`);
    if (p.executionId !== undefined)
      lines.push(`  first bad record: execution ${p.executionId}, event ${p.event ?? '?'}`);
    if (p.digestSequence !== undefined) lines.push(`  digest:           ${p.digestSequence}`);
    lines.push(`  problem:          ${p.kind}: ${p.message}`);
  }
  lines.push(`  checked:          ${result.records} records in ${result.digests} digests (${scope})`);
  if (result.lastDigest !== undefined) {
    lines.push(
      `  last digest:      ${result.lastDigest.sequence}, covering writes until ${result.lastDigest.periodEnd} (sha256 ${result.lastDigest.digestSha256})`,
    );
  }
  if (result.ok) lines.push(`  not yet covered:  ${result.uncovered} records written after the last digest`);
  const shown = incomplete.slice(0, 20);
  for (const e of shown) {
    lines.push(
      `  missing outcome:  execution ${e.executionId}, started ${e.startedAt}, no completed or denied record by ${e.deadline}`,
    );
  }
  if (incomplete.length > shown.length) {
    lines.push(
      `  missing outcome:  ... and ${incomplete.length - shown.length} more (--json lists them all)`,
    );
  }
  if (incomplete.length > 0) {
    lines.push(
      '  an outcome the table lacks may be in the audit log: `custody audit reconcile` writes it back',
    );
  }
  return lines.join('\n');
}
