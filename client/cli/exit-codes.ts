/**
 * The `custody` exit codes, one meaning each. The table is documented in docs/local.md ("Exit codes").
 */
import type { ExecutionResponse } from '../index.ts';

export const EXIT = {
  succeeded: 0,
  /** `run`: the code failed (raised an exception). */
  failed: 1,
  usage: 2,
  timed_out: 3,
  out_of_memory: 4,
  output_limit: 5,
  denied: 6,
  rejected: 7,
  /** A dependency failed (503), another server error, or no connection. */
  unavailable: 8,
  config: 9,
  /** `audit verify`: no tampering, but a started execution has no outcome after its deadline. */
  incomplete: 10,
  /** `audit verify|report|reconcile`: the trail was altered (a bad record, digest or signature; a conflict). */
  tampered: 11,
  /** A fault in custody itself (an unexpected exception): a bug to report, not an outage. */
  internal: 12,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit code for an execution's status (`error`: a dependency failed). */
export function exitForStatus(status: ExecutionResponse['status'] | 'error'): ExitCode {
  if (status === 'error') return EXIT.unavailable;
  return EXIT[status];
}
