/**
 * The executor Lambda: validate the event, run it in a fresh sandbox, return the result.
 * One structured log line per execution, without code, output, files or variables.
 *
 * A failure of the user's code is a normal result. An invalid event or a sandbox that cannot
 * start throws, which Lambda reports to the broker as a FunctionError.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { EXECUTOR_ENV } from '../core/env-names.ts';
import { ValidationError } from '../core/errors.ts';
import { parseSandboxEvent } from '../core/executor-event.ts';
import { encodeSandboxResult, type WireSandboxResult } from '../core/executor-payload.ts';
import { stateBytes } from '../core/sandbox-state.ts';
import type { SandboxResult } from '../core/types.ts';
import { type CustodySandbox, createSandbox } from '../sandbox/index.ts';
import { SettleExtension } from './prestart-extension.ts';

const logger = new Logger({ serviceName: 'custody-executor' });

/** Pre-started Python processes kept in this environment (CUSTODY_PRESTARTED_PROCESSES). */
function prestartedProcesses(): number {
  const raw = process.env[EXECUTOR_ENV.prestartedProcesses];
  if (raw === undefined || raw === '') return 1;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 8) {
    throw new Error(
      `${EXECUTOR_ENV.prestartedProcesses} must be an integer from 0 to 8, not ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

let sandbox: CustodySandbox | undefined;
/** Set once the extension has registered: the replacement process then loads after the run. */
let refillAfterRun = false;

/** The pre-start extension is on in Lambda unless CUSTODY_PRESTART_EXTENSION=0 turns it off. */
function extensionWanted(): boolean {
  return (
    process.env.AWS_LAMBDA_RUNTIME_API !== undefined &&
    process.env[EXECUTOR_ENV.prestartExtension] !== '0' &&
    prestartedProcesses() > 0
  );
}

function executorSandbox(): CustodySandbox {
  // One run at a time per Lambda environment; one execution per process or engine instance.
  sandbox ??= createSandbox({
    prestartedProcesses: prestartedProcesses(),
    maxConcurrent: 1,
    refillAfterRun,
    // Its JavaScript packages are in the asset's runtime folder (#17).
    ...(process.env[EXECUTOR_ENV.profile] ? { profile: process.env[EXECUTOR_ENV.profile] } : {}),
  });
  return sandbox;
}

// With the internal extension, the replacement process loads after the response, before the
// freeze (settle-extension.ts). Lambda accepts an extension's registration only during init, which
// ends when the runtime asks for its first invocation, after this module (an ES module: the
// runtime awaits its top level) has loaded: so the registration is awaited here. If it fails, the
// executor works as without it (the replacement loads during the run that took its predecessor).
let extension: SettleExtension | undefined;
const runtimeApi = process.env.AWS_LAMBDA_RUNTIME_API;
let sandboxCreated: () => void = () => {};
const created = new Promise<void>((resolve) => {
  sandboxCreated = resolve;
});
if (runtimeApi && extensionWanted()) {
  extension = await SettleExtension.register({
    runtimeApi,
    // Waits for the sandbox below: the extension's first wait is the first process's load.
    settle: () => created.then(() => executorSandbox().settled()),
    onStop: (reason) => logger.warn('pre-start extension stopped', { reason }),
  });
  refillAfterRun = extension !== undefined;
}

// In Lambda (a runtime folder beside the bundle), the first Python process loads during init,
// not in the first invocation. A failure here surfaces in the first Python run.
if ((process.env.LAMBDA_TASK_ROOT || process.env[EXECUTOR_ENV.runtimeDir]) && prestartedProcesses() > 0) {
  executorSandbox()
    .warmUp()
    .catch(() => undefined);
}
sandboxCreated();

/** The result with its files in their wire form, within Lambda's 6 MB response (`executor-payload.ts`). */
export const handler = async (event: unknown): Promise<WireSandboxResult> => {
  try {
    return encodeSandboxResult(await execute(event));
  } finally {
    extension?.runEnded();
  }
};

async function execute(event: unknown): Promise<SandboxResult> {
  const parsed = parseSandboxEvent(event);
  if (!parsed.ok) {
    logger.warn('rejected executor event', { reason: parsed.message });
    throw new ValidationError(parsed.message);
  }
  const { request } = parsed;
  const current = executorSandbox();
  // The profile names itself in the sandbox's messages (an import it does not bundle, #17).
  const result = await current.run({ ...request, profile: process.env[EXECUTOR_ENV.profile] ?? '' });
  // Lambda freezes this environment, pre-started processes with it, once the handler returns; a
  // replacement still loading finishes in the next invocation. Awaiting current.settled() here
  // makes every run as slow as a load (bench/freeze-emulation.ts, docs/sandbox.md): not done.
  if (process.env[EXECUTOR_ENV.settleBeforeReturn] === '1') await current.settled();
  logger.info('execution', {
    executionId: request.executionId,
    language: request.language,
    status: result.status,
    limits: request.limits,
    inputFiles: Object.keys(request.files ?? {}).length,
    variables: Object.keys(request.env ?? {}).length,
    stdoutBytes: Buffer.byteLength(result.stdout, 'utf8'),
    stderrBytes: Buffer.byteLength(result.stderr, 'utf8'),
    outputFiles: Object.keys(result.files).length,
    truncated: result.stdoutTruncated || result.stderrTruncated || result.filesTruncated,
    ...(result.status === 'failed' ? { errorName: result.error.name } : {}),
    // A session's call: sizes and counts only (never a file or variable name).
    ...(result.state
      ? { stateBytes: stateBytes(result.state.carried), droppedNames: result.state.dropped.length }
      : {}),
    startMs: Math.round(result.timings.startMs),
    runMs: Math.round(result.timings.runMs),
  });
  return result;
}

/** For tests: releases the sandbox (pre-started processes) this module holds. */
export async function closeExecutorSandbox(): Promise<void> {
  const current = sandbox;
  sandbox = undefined;
  await current?.close();
}
