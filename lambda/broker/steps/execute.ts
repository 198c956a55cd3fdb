/** Step 7, execute: the code in the profile's executor, invoked WITH the execution's session. */
import type { AssumedSession } from '../../core/ports.ts';
import type { SandboxRequest, SandboxResult } from '../../core/types.ts';
import type { BrokerContext } from '../context.ts';
import { eventSizeProblem } from '../event-size.ts';
import type { ExecutionRequest } from '../request.ts';
import type { Authorized } from './decide.ts';

/** The sandbox's result (a user's code failing is a result); throws if the executor failed. */
export async function execute(
  ctx: BrokerContext,
  session: AssumedSession,
  authorized: Authorized,
  run: {
    readonly executionId: string;
    readonly request: ExecutionRequest;
    readonly env: Record<string, string>;
    /** A call of a session: the state the previous call left. */
    readonly session?: SandboxRequest['session'];
    /** #16: dataset name -> key -> base64 (`steps/datasets.ts`). */
    readonly datasets?: SandboxRequest['datasets'];
  },
): Promise<SandboxResult> {
  const { request } = run;
  const sandboxRequest: SandboxRequest = {
    executionId: run.executionId,
    language: request.language,
    code: request.code,
    limits: authorized.limits,
    ...(request.files ? { files: request.files } : {}),
    ...(authorized.secretRefs.length > 0 ? { env: run.env } : {}),
    ...(run.session ? { session: run.session } : {}),
    ...(run.datasets ? { datasets: run.datasets } : {}),
  };
  // Measured again, exactly, with the secrets (#16): over Lambda's limit is a 413, never sent.
  const oversize = eventSizeProblem(sandboxRequest);
  if (oversize) throw oversize;
  return ctx.executor.run(session, authorized.profileName, sandboxRequest, authorized.context);
}
