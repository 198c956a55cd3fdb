/**
 * The local executor port: the profile's executor, run in-process on the shared sandbox.
 *
 * On AWS the broker invokes the profile's executor Lambda with the assumed session, and IAM lets a
 * profile's role invoke only its own executor. Locally the same rule is checked here: the
 * credentials must be a live session issued by the local credentials port, for the role of the
 * profile asked for. The sandbox gives every execution fresh state, as the executor Lambda does.
 */
import { DependencyError } from '../lambda/core/errors.ts';
import type { AssumedSession, ExecutionContext, ExecutorPort } from '../lambda/core/ports.ts';
import type { Sandbox, SandboxRequest, SandboxResult } from '../lambda/core/types.ts';
import { type LocalCredentialsPort, sessionProblem } from './credentials.ts';

export interface LocalExecutorOptions {
  readonly sandbox: Sandbox;
  readonly credentials: LocalCredentialsPort;
}

export class LocalExecutorPort implements ExecutorPort {
  constructor(private readonly options: LocalExecutorOptions) {}

  async run(
    session: AssumedSession,
    profile: string,
    request: SandboxRequest,
    context?: ExecutionContext,
  ): Promise<SandboxResult> {
    const check = await this.options.credentials.authorize(session.credentials, context);
    if (!check.ok) {
      throw new DependencyError('executor', `executor invoke refused: ${sessionProblem(check)}`);
    }
    if (check.session.profile !== profile) {
      throw new DependencyError(
        'executor',
        `executor invoke refused: role session ${check.session.assumedRoleArn} may not invoke the executor of profile "${profile}"`,
      );
    }
    return this.options.sandbox.run(request);
  }
}
