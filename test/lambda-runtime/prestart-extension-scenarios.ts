/**
 * The executor's pre-start extension (lambda/handlers/prestart-extension.ts) under the emulated
 * Extensions API (extensions-api.mjs): it registers during init, the freeze after each Python run
 * waits for it until the replacement process has loaded, so every run finds a loaded process; a
 * registration after init is refused, and an executor whose registration is refused still works.
 */
import type { Checks } from './checks.ts';
import type { AssemblyFunction } from './cloud-assembly.ts';
import type { ExecutionEnvironment } from './execution-environment.ts';
import { brief, type LanguageTimings, request, resultOf } from './executor-scenarios.ts';
import type { Workspace } from './workspace.ts';

/** The extension's name (settle-extension.ts). */
const EXTENSION = 'custody-python-prestart';
/**
 * A run that finds its process loaded waits for it only as long as taking it from the pool takes:
 * milliseconds. Loose for a loaded 2-core machine; a half-loaded process takes hundreds of ms more.
 */
const LOADED_START_MS = 150;
/** Runs after the first (the aim is 300 ms at the 1024 MB share): loose enough not to flake. */
const LATER_RUN_MS = 1_500;

const ms = (values: readonly (number | undefined)[]) =>
  values.map((v) => (v === undefined ? '-' : `${v.toFixed(0)} ms`)).join(', ');

export async function prestartExtensionChecks(
  checks: Checks,
  env: ExecutionEnvironment,
  runs: Pick<LanguageTimings, 'runsMs' | 'sandboxMs' | 'runsExtensionsMs'>,
): Promise<void> {
  checks.check(
    `executor: the pre-start extension registers during init (init waited ${ms([env.init.extensionsWaitMs])} for it)`,
    env.init.extensions?.includes(EXTENSION) === true && env.init.extensionsCapped === false,
    env.init,
  );
  checks.check(
    `executor: the freeze after each Python run waits for the extension (${ms(runs.runsExtensionsMs)})`,
    runs.runsExtensionsMs.every((wait) => wait !== undefined && wait > 0),
    runs.runsExtensionsMs,
  );
  const starts = runs.sandboxMs.map((t) => t.startMs);
  checks.check(
    `executor: every Python run finds its process loaded (waits ${ms(starts)}; at most ${LOADED_START_MS} ms)`,
    starts.every((start) => start <= LOADED_START_MS),
    runs.sandboxMs,
  );
  const later = runs.runsMs.slice(1);
  checks.check(
    `executor: Python runs after the first take ${ms(later)} (at most ${LATER_RUN_MS} ms each)`,
    later.every((run) => run <= LATER_RUN_MS),
    runs.runsMs,
  );

  const status = await env.probeRegistration();
  const after = resultOf(await env.invoke(request('python', 'print(6 * 7)'), 30_000));
  checks.check(
    `executor: a registration after init is refused (HTTP ${status}) and the executor still runs`,
    status === 403 && after.status === 'succeeded' && after.stdout === '42\n',
    { status, after: brief(after) },
  );
}

/**
 * An environment whose init ends before the handler's module loads: the extension's registration
 * comes after init and is refused. The executor logs it and runs Python as without the extension.
 */
export async function registrationAfterInitScenario(
  checks: Checks,
  workspace: Workspace,
  fn: AssemblyFunction,
  memoryMiB: number,
): Promise<void> {
  const env = workspace.environment(fn, memoryMiB, { EMULATION_INIT_ENDS_BEFORE_HANDLER: '1' });
  try {
    await env.start();
    const timeoutMs = fn.timeoutSeconds * 1000;
    const results = [];
    const durations: number[] = [];
    for (let i = 0; i < 3; i++) {
      const outcome = await env.invoke(request('python', 'print(6 * 7)'), timeoutMs);
      results.push(resultOf(outcome));
      durations.push(outcome.durationMs);
    }
    // The runs' times show the executor without the extension, for comparison (not asserted).
    checks.check(
      `executor: with its registration refused, the executor logs it and still runs Python (${ms(durations)})`,
      (env.init.extensions ?? []).length === 0 &&
        /pre-start extension stopped[^\n]*refused \(HTTP 403\)/.test(env.logs) &&
        results.every((r) => r.status === 'succeeded' && r.stdout === '42\n'),
      { init: env.init, results: results.map(brief), logs: env.logs.slice(-1000) },
    );
  } finally {
    await env.close();
  }
}
