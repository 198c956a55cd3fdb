/** Step 10, respond: the body of a 200 from POST /v1/executions, from the sealed output only. */
import type { ExecutionResponse } from '../../core/api-schema.ts';
import type { AssumedSession } from '../../core/ports.ts';
import type { SandboxResult } from '../../core/types.ts';
import type { Sealed } from '../seal.ts';

export function respond(run: {
  readonly executionId: string;
  readonly result: SandboxResult;
  readonly sealed: Sealed;
  readonly codeSha256: string;
  readonly session: AssumedSession;
  readonly pending: boolean;
  /** #16: the output files also stored as artifacts. */
  readonly artifacts?: readonly { path: string; key: string; bytes: number; sha256: string }[];
}): ExecutionResponse {
  const { output } = run.sealed;
  return {
    executionId: run.executionId,
    status: output.status,
    stdout: output.stdout,
    stderr: output.stderr,
    ...(output.result !== undefined ? { result: output.result } : {}),
    ...(output.error ? { error: output.error } : {}),
    ...(Object.keys(output.files).length > 0 ? { files: output.files } : {}),
    truncated: output.truncated,
    durationMs: run.result.timings.runMs,
    codeSha256: run.codeSha256,
    outputSha256: run.sealed.outputSha256,
    role: { arn: run.session.roleArn, sessionName: run.session.sessionName },
    ...(run.pending ? { auditPending: true as const } : {}),
    ...(run.artifacts
      ? { artifacts: run.artifacts.map(({ path, key, bytes, sha256 }) => ({ path, key, bytes, sha256 })) }
      : {}),
  };
}
