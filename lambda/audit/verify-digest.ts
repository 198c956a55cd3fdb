/**
 * Verification of one digest head and its record list: hash, signature, stored position, and each
 * part's hash, telling apart entries dropped, shuffled or altered.
 */
import type { KeyObject } from 'node:crypto';
import type { AuditItem } from '../core/audit-chain.ts';
import { verifySignature } from '../core/audit-signer.ts';
import { canonicalJson, sha256Hex } from '../core/canonical-json.ts';
import { type DigestEntry, type DigestPartRef, readDigestItem, type SignedDigest, str } from './item.ts';
import type { VerifyProblem } from './verify-result.ts';
import type { Snapshot } from './verify-snapshot.ts';

/** Checks a digest head's hash and signature and loads its entries (parts). */
export async function checkDigestItem(
  item: AuditItem,
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

function entrySortKey(e: DigestEntry): string {
  return `${e.writtenAt}#${e.executionId}#${e.event}`;
}
