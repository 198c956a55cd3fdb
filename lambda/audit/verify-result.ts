/** What a verification of the audit trail finds (`verify-chain.ts`), for the CLI, the digester and reports. */
import type { IncompleteExecution } from './incomplete-executions.ts';

export type { IncompleteExecution } from './incomplete-executions.ts';

type TamperKind = 'modified' | 'deleted' | 'inserted' | 'reordered' | 'signature_invalid' | 'chain_broken';

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
