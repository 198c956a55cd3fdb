/**
 * What custody writes to the audit log (CloudWatch log group on AWS, `.custody/audit.log` locally),
 * one JSON object per line:
 *
 * - an audit record: exactly `canonicalJson(record)`, so its SHA-256 equals the table's
 *   `recordSha256` and the log is a second, independently held copy. Logs Insights and Contributor
 *   Insights read its fields directly (`executionId`, `event`, `caller.arn`, `request.profile`,
 *   `decision.reason`, `outcome.status`, `role.sessionName`, `request.codeSha256`, ...).
 * - a digest: `{"auditDigest":{...body},"digestSha256":"...","signature":"..."}` (select with
 *   `filter ispresent(auditDigest.sequence)`). These lines anchor the digest chain outside the
 *   table: `verifyChain({ anchors })` checks the table's chain against them.
 * - a verification result: `{"auditVerification":{"ok":true|false,...,"incomplete":n}}` (see `verificationLine`).
 */
import type { AuditRecord } from '../core/audit-record.ts';
import { canonicalJson, sha256Hex } from '../core/canonical-json.ts';
import type { DigestBody, SignedDigest } from './item.ts';

export function recordLine(record: AuditRecord): string {
  return canonicalJson(record);
}

export function digestLine(digest: SignedDigest): string {
  return canonicalJson({
    auditDigest: digest.body,
    digestSha256: digest.digestSha256,
    signature: digest.signature,
  });
}

/** A digest as the audit log saw it: the chain in the table must contain it unchanged. */
export interface DigestAnchor {
  readonly sequence: number;
  readonly digestSha256: string;
}

/** The digest anchors in audit log lines (other lines are skipped; a line whose hash disagrees with its body is refused). */
export function parseDigestAnchors(lines: Iterable<string>): DigestAnchor[] {
  const anchors: DigestAnchor[] = [];
  let lineNumber = 0;
  for (const line of lines) {
    lineNumber++;
    if (!line.includes('"auditDigest"')) continue;
    let parsed: { auditDigest?: DigestBody; digestSha256?: string };
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      continue;
    }
    const body = parsed.auditDigest;
    if (body === undefined || typeof body.sequence !== 'number') continue;
    const sha = sha256Hex(canonicalJson(body));
    if (sha !== parsed.digestSha256) {
      throw new Error(
        `audit log line ${lineNumber}: digest ${body.sequence} does not hash to its digestSha256`,
      );
    }
    anchors.push({ sequence: body.sequence, digestSha256: sha });
  }
  return anchors;
}

/** Where a digest goes besides the table. */
export interface AuditDigestLog {
  writeDigest(digest: SignedDigest): Promise<void>;
}

/** The outcome of a verification, as one line (the dashboard's "last audit verification" reads it). */
export function verificationLine(
  result: {
    readonly ok: boolean;
    readonly records: number;
    readonly digests: number;
    readonly uncovered?: number;
    readonly scope: string;
    readonly lastDigest?: { readonly sequence: number };
    /** Started executions with no outcome after their deadline (counted in the line). */
    readonly incomplete?: readonly unknown[];
    readonly problem?: {
      readonly kind: string;
      readonly executionId?: string;
      readonly event?: string;
      readonly digestSequence?: number;
      readonly message: string;
    };
  },
  verifiedAt: Date,
): string {
  return canonicalJson({
    auditVerification: {
      ok: result.ok,
      verifiedAt: verifiedAt.toISOString(),
      scope: result.scope,
      records: result.records,
      digests: result.digests,
      uncovered: result.uncovered,
      lastDigestSequence: result.lastDigest?.sequence,
      incomplete: result.incomplete?.length,
      problem: result.problem,
    },
  });
}

/** A log that also takes arbitrary JSON lines (digests, verification results). */
export interface AuditLineLog extends AuditDigestLog {
  writeLine(line: string): Promise<void>;
}
