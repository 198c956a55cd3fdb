/**
 * The periodic signed digest: custody's equivalent of CloudTrail's digest files.
 *
 * Every period (5 minutes on AWS, a timer and on demand locally) one digest covers every record
 * WRITTEN in [periodStart, periodEnd): it lists each record's key, times and SHA-256 (in parts, so
 * no item nears DynamoDB's 400 KB limit), names the previous digest's SHA-256 (a chain), and is
 * signed with an asymmetric key the table's writers do not hold. The digest goes to the table and,
 * as one line, to the audit log, so the chain is anchored outside the table.
 *
 * - No hot item: records are written independently; the digest adds one head item per period
 *   (plus one part item per ~300 KB of entries).
 * - Late writes: a period ends `settleMs` before now, so records whose write was stamped a little
 *   earlier but landed (or reached the eventually consistent index) later are still covered. A
 *   record stamped inside an already digested period shows up as `inserted` in verification.
 * - Two digesters at once (EventBridge delivers at least once; local timer + on demand): both
 *   compute the same sequence; the conditional put lets one win, the other returns `lost-race`.
 */
import { randomUUID } from 'node:crypto';
import type { AuditChainStore } from '../core/audit-chain.ts';
import { type AuditSigner, verifySignature } from '../core/audit-signer.ts';
import { canonicalJson, sha256Hex } from '../core/canonical-json.ts';
import type { Clock } from '../core/ports.ts';
import type { AuditDigestLog } from './audit-log-line.ts';
import { AuditWriteError, describeError } from './errors.ts';
import {
  type DigestBody,
  type DigestEntry,
  type DigestPartRef,
  digestPartPk,
  digestToItem,
  partToItem,
  readDigestItem,
  SIGNING_ALGORITHM,
  type SignedDigest,
} from './item.ts';

export interface DigestOptions {
  /** The audit table (`DynamoDbAuditChain` on AWS and locally). */
  readonly table: AuditChainStore;
  readonly signer: AuditSigner;
  /** Where the digest line goes besides the table (the audit log). */
  readonly log?: AuditDigestLog;
  /** @default () => new Date() */
  readonly clock?: Clock;
  /** A period ends this long before now, so late writes and index propagation are covered. @default 60_000 */
  readonly settleMs?: number;
  /** Longest period one digest covers (catching up after downtime takes several). @default 3_600_000 */
  readonly maxPeriodMs?: number;
  /** Start of the first period. @default one hour before the table was created */
  readonly genesis?: Date;
  /** Largest part item (bytes of entries JSON). @default 300_000 */
  readonly maxPartBytes?: number;
}

export type DigestResult =
  | { readonly status: 'written'; readonly digest: SignedDigest }
  /** The next period has not yet ended (plus the settle delay). */
  | { readonly status: 'not-due'; readonly periodStart: string }
  /** Another digester wrote this sequence first. */
  | { readonly status: 'lost-race'; readonly sequence: number };

/** A stored digest head that does not check out (the digester refuses to extend a broken chain). */
export class AuditChainError extends AuditWriteError {
  constructor(message: string) {
    super(message);
    this.name = 'AuditChainError';
  }
}

/** Writes the next digest, if its period has ended. */
export async function createDigest(options: DigestOptions): Promise<DigestResult> {
  const clock = options.clock ?? (() => new Date());
  const settleMs = options.settleMs ?? 60_000;
  const maxPeriodMs = options.maxPeriodMs ?? 3_600_000;
  const previous = await latestDigest(options.table);
  if (previous !== undefined) await checkPrevious(previous, options.signer);

  const periodStart = previous?.body.periodEnd ?? (await genesisOf(options)).toISOString();
  const startMs = Date.parse(periodStart);
  const endMs = Math.min(clock().getTime() - settleMs, startMs + maxPeriodMs);
  if (endMs <= startMs) return { status: 'not-due', periodStart };
  const periodEnd = new Date(endMs).toISOString();

  const records = await options.table.listWrittenBetween(new Date(startMs), new Date(endMs));
  const entries: DigestEntry[] = records.map((s) => ({
    executionId: s.record.executionId,
    event: s.record.event,
    timestamp: s.record.timestamp,
    writtenAt: s.writtenAt,
    recordSha256: s.recordSha256,
  }));

  const sequence = (previous?.body.sequence ?? 0) + 1;
  const partPk = digestPartPk(sequence);
  const attemptId = randomUUID();
  const chunks = chunkEntries(entries, options.maxPartBytes ?? 300_000);
  const parts: DigestPartRef[] = chunks.map((chunk, index) => {
    const sk = `${attemptId}#${String(index).padStart(4, '0')}`;
    return { pk: partPk, sk, count: chunk.entries.length, sha256: sha256Hex(chunk.json) };
  });

  const body: DigestBody = {
    schemaVersion: 1,
    sequence,
    previousDigestSha256: previous?.digestSha256 ?? null,
    periodStart,
    periodEnd,
    createdAt: clock().toISOString(),
    keyId: options.signer.keyId,
    signingAlgorithm: SIGNING_ALGORITHM,
    recordCount: entries.length,
    parts,
  };
  const bodyJson = canonicalJson(body);
  const signature = Buffer.from(await options.signer.sign(Buffer.from(bodyJson, 'utf8'))).toString('base64');
  const digest: SignedDigest = { body, bodyJson, digestSha256: sha256Hex(bodyJson), signature };

  // Parts first (unique keys per attempt: a losing digester's parts are orphans no digest names).
  for (const [index, chunk] of chunks.entries()) {
    const part = parts[index] as DigestPartRef;
    await options.table.putNew(partToItem(part.pk, part.sk, chunk.json), `digest ${sequence} part ${index}`);
  }
  const won = await options.table.putNew(digestToItem(digest), `digest ${sequence}`);
  if (!won) return { status: 'lost-race', sequence };

  if (options.log !== undefined) {
    try {
      await options.log.writeDigest(digest);
    } catch (error) {
      throw new AuditWriteError(
        `digest ${sequence} was written to the table but not to the audit log: ${describeError(error)}`,
        { cause: error },
      );
    }
  }
  return { status: 'written', digest };
}

/** Writes digests until the covered period reaches now minus the settle delay (at most `maxDigests`). */
export async function digestUntilCurrent(options: DigestOptions, maxDigests = 48): Promise<SignedDigest[]> {
  const written: SignedDigest[] = [];
  for (let i = 0; i < maxDigests; i++) {
    const result = await createDigest(options);
    if (result.status !== 'written') break;
    written.push(result.digest);
    const maxPeriodMs = options.maxPeriodMs ?? 3_600_000;
    const covered = Date.parse(result.digest.body.periodEnd) - Date.parse(result.digest.body.periodStart);
    if (covered < maxPeriodMs) break;
  }
  return written;
}

export interface DigestSchedule {
  /** Runs a digest now (queued behind a running one) and returns what it wrote. */
  runNow(): Promise<SignedDigest[]>;
  /** Stops the timer and waits for a running digest to finish. */
  stop(): Promise<void>;
}

/** Local mode: a digest every `intervalMs` (no overlap), plus on demand. */
export function scheduleDigests(
  options: DigestOptions & {
    readonly intervalMs?: number;
    readonly onError?: (error: unknown) => void;
    /** Runs before each digest, in the same queue (reconciliation); must not throw. */
    readonly beforeEach?: () => Promise<unknown>;
  },
): DigestSchedule {
  let running: Promise<unknown> = Promise.resolve();
  const run = (): Promise<SignedDigest[]> => {
    const next = running
      .catch(() => undefined)
      .then(() => options.beforeEach?.())
      .then(() => digestUntilCurrent(options));
    running = next;
    return next;
  };
  const timer = setInterval(() => {
    run().catch((error: unknown) => options.onError?.(error));
  }, options.intervalMs ?? 300_000);
  timer.unref();
  return {
    runNow: run,
    stop: async () => {
      clearInterval(timer);
      await running.catch(() => undefined);
    },
  };
}

/** The newest digest in the table, if any; AuditChainError if it does not parse. */
async function latestDigest(table: AuditChainStore): Promise<SignedDigest | undefined> {
  const item = (await table.latestDigests(1))[0];
  if (item === undefined) return undefined;
  const read = readDigestItem(item);
  if (!read.ok) throw new AuditChainError(`the latest audit digest does not check out: ${read.message}`);
  return read.digest;
}

async function checkPrevious(previous: SignedDigest, signer: AuditSigner): Promise<void> {
  const n = previous.body.sequence;
  if (sha256Hex(previous.bodyJson) !== previous.digestSha256) {
    throw new AuditChainError(
      `digest ${n} does not hash to its digestSha256: refusing to extend a tampered chain`,
    );
  }
  // Under key rotation the previous digest is another key's: the verifier checks it; we chain by hash.
  if (previous.body.keyId !== signer.keyId) return;
  const ok = verifySignature(
    Buffer.from(previous.bodyJson, 'utf8'),
    Buffer.from(previous.signature, 'base64'),
    await signer.publicKey(),
  );
  if (!ok)
    throw new AuditChainError(`digest ${n} has an invalid signature: refusing to extend a tampered chain`);
}

async function genesisOf(options: DigestOptions): Promise<Date> {
  if (options.genesis !== undefined) return options.genesis;
  const created = await options.table.createdAt();
  return new Date(created.getTime() - 3_600_000);
}

function chunkEntries(
  entries: readonly DigestEntry[],
  maxBytes: number,
): { entries: DigestEntry[]; json: string }[] {
  const chunks: { entries: DigestEntry[]; json: string }[] = [];
  let current: DigestEntry[] = [];
  let bytes = 2;
  for (const entry of entries) {
    const size = Buffer.byteLength(canonicalJson(entry)) + 1;
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push({ entries: current, json: canonicalJson(current) });
      current = [];
      bytes = 2;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) chunks.push({ entries: current, json: canonicalJson(current) });
  return chunks;
}
