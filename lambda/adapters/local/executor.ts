/**
 * The local executor port: the profile's executor, run in-process on the shared sandbox.
 *
 * On AWS the broker invokes the profile's executor Lambda with the assumed session, and IAM lets a
 * profile's role invoke only its own executor. Locally the same rule is checked here: the
 * credentials must be a live session issued by the local credentials port, for the role of the
 * profile asked for. The sandbox gives every execution fresh state, as the executor Lambda does.
 *
 * On AWS every execution gets an executor Lambda environment of its own; here they share the
 * machine. So runs are admitted through two fair queues (`fair-queue.ts`), one per sandbox
 * (JavaScript and TypeScript; Python), keyed by the caller (the session's source identity): callers
 * take turns, one caller never holds every slot, and a full queue is refused with 429 THROTTLED.
 */
import { availableParallelism } from 'node:os';
import { DependencyError } from '../../core/errors.ts';
import type { AssumedSession, ExecutionContext, ExecutorPort } from '../../core/ports.ts';
import type { Sandbox, SandboxRequest, SandboxResult } from '../../core/types.ts';
import { type LocalCredentialsPort, sessionProblem } from './credentials.ts';
import { FairQueue, type FairQueueOptions } from './fair-queue.ts';

/** How one sandbox's queue admits runs (see `FairQueueOptions`; the name is given here). */
export type LaneOptions = Omit<FairQueueOptions, 'name'>;

/** A sandbox told the profile of each run: whose bundled JavaScript packages the code may import (#17). */
type ProfileSandbox = Pick<Sandbox, 'close'> & {
  run(request: SandboxRequest, profile?: string): Promise<SandboxResult>;
};

export interface LocalExecutorOptions {
  readonly sandbox: ProfileSandbox;
  readonly credentials: LocalCredentialsPort;
  /** JavaScript and TypeScript runs. @default { concurrency: localSandboxSlots() } */
  readonly javascript?: LaneOptions;
  /** Python runs. @default { concurrency: localSandboxSlots() } */
  readonly python?: LaneOptions;
}

/**
 * Runs each local sandbox takes at once: one per core, plus one. A caller holds at most all but
 * one (`FairQueue`'s default), so a caller alone has every core, and another caller's run still
 * starts at once beside it (sharing the cores) instead of waiting for a deadline.
 */
export function localSandboxSlots(): number {
  return Math.max(1, availableParallelism()) + 1;
}

export class LocalExecutorPort implements ExecutorPort {
  private readonly javascript: FairQueue;
  private readonly python: FairQueue;

  constructor(private readonly options: LocalExecutorOptions) {
    this.javascript = new FairQueue({
      name: 'JavaScript and TypeScript',
      ...(options.javascript ?? { concurrency: localSandboxSlots() }),
    });
    this.python = new FairQueue({
      name: 'Python',
      ...(options.python ?? { concurrency: localSandboxSlots() }),
    });
  }

  /** Runs waiting for each sandbox now (for operators and tests). */
  waiting(): { readonly javascript: number; readonly python: number } {
    return { javascript: this.javascript.queued, python: this.python.queued };
  }

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
    const queue = request.language === 'python' ? this.python : this.javascript;
    return queue.run(check.session.sourceIdentity, () =>
      this.options.sandbox.run({ ...request, profile }, profile),
    );
  }
}
