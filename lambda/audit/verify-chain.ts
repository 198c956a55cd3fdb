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
import type { AuditChainStore } from '../core/audit-chain.ts';
import { type AuditSigner, type PublicKeyInput, toPublicKey } from '../core/audit-signer.ts';
import type { Clock } from '../core/ports.ts';
import type { DigestAnchor } from './audit-log-line.ts';
import { findIncompleteExecutions } from './incomplete-executions.ts';
import { type DigestEntry, recordIdOf, type SignedDigest, str } from './item.ts';
import { checkDigestItem } from './verify-digest.ts';
import { checkPeriod, inserted } from './verify-record.ts';
import type { VerifyProblem, VerifyResult, VerifySummary } from './verify-result.ts';
import {
  entryKey,
  FUTURE_TOLERANCE_MS,
  itemKey,
  readRecentDigests,
  readWholeTable,
} from './verify-snapshot.ts';

export type { VerifyResult } from './verify-result.ts';

export interface VerifyOptions {
  /** The audit table (`DynamoDbAuditChain` on AWS and locally). */
  readonly table: AuditChainStore;
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
  /**
   * How long after a run's time limit its outcome may still be missing before it is reported
   * incomplete (the broker's STS, secrets and audit retries). @default 300_000
   */
  readonly outcomeMarginMs?: number;
}

export async function verifyChain(options: VerifyOptions): Promise<VerifyResult> {
  const key = await resolveKey(options);
  const now = (options.clock ?? (() => new Date()))();
  const maxLagMs = options.maxDigestLagMs ?? 3_600_000;
  const snapshot =
    options.recentDigests === undefined
      ? await readWholeTable(options.table)
      : await readRecentDigests(options.table, options.recentDigests, now);
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
        ...recordIdOf(item),
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

async function resolveKey(options: VerifyOptions): Promise<KeyObject> {
  if (options.publicKey !== undefined) return toPublicKey(options.publicKey);
  if (options.signer !== undefined) return options.signer.publicKey();
  throw new TypeError('verifyChain needs publicKey or signer');
}
