/**
 * The executor's invocations under the emulation: JavaScript and Python each in a fresh
 * environment (cold init, then a first, second and third run with a freeze between each), then
 * TypeScript, a timeout, an error, a secret passed as the broker passes it (the event's `env`),
 * and Python's `random` across two executions (must differ: each execution is its own draw).
 * Python runs six times: its pre-start extension (prestart-extension-scenarios.ts) must keep every
 * run after the first on a loaded process.
 */
import type { SandboxRequest, SandboxResult } from '../../lambda/core/types.ts';
import type { Checks } from './checks.ts';
import type { AssemblyFunction } from './cloud-assembly.ts';
import type { ExecutionEnvironment, InvokeOutcome } from './execution-environment.ts';
import { prestartExtensionChecks, registrationAfterInitScenario } from './prestart-extension-scenarios.ts';
import type { Workspace } from './workspace.ts';

export interface LanguageTimings {
  readonly language: string;
  readonly initMs: number;
  readonly runsMs: number[];
  /** The executor's own account of each run (SandboxResult.timings). */
  readonly sandboxMs: { startMs: number; runMs: number }[];
  /** CPU time the environment used for init and each run (cgroups only). */
  readonly initCpuMs?: number;
  readonly runsCpuMs: (number | undefined)[];
  /** How long registered extensions kept the environment up after init and after each response. */
  readonly initExtensionsMs?: number;
  readonly runsExtensionsMs: (number | undefined)[];
}

const LIMITS = { timeoutMs: 10_000, memoryMiB: 256, maxOutputBytes: 65_536 } as const;
let executions = 0;

export function request(
  language: SandboxRequest['language'],
  code: string,
  extra: Partial<SandboxRequest> = {},
): SandboxRequest {
  return { executionId: `lambda-emu-${++executions}`, language, code, limits: LIMITS, ...extra };
}

/** Fields every SandboxResult has, with their types (the broker relies on them). */
const RESULT_SHAPE: [string, string][] = [
  ['status', 'string'],
  ['stdout', 'string'],
  ['stderr', 'string'],
  ['stdoutTruncated', 'boolean'],
  ['stderrTruncated', 'boolean'],
  ['files', 'object'],
  ['filesTruncated', 'boolean'],
  ['timings', 'object'],
];

/** The SandboxResult of an invocation that must have returned one. */
export function resultOf(outcome: InvokeOutcome): SandboxResult {
  if (!outcome.ok)
    throw new Error(`invocation failed: ${outcome.error.errorType}: ${outcome.error.errorMessage}`);
  const value = outcome.value as Record<string, unknown> | null;
  const missing = RESULT_SHAPE.filter(([key, type]) => typeof value?.[key] !== type).map(([key]) => key);
  if (missing.length > 0) {
    throw new Error(
      `not a SandboxResult (${missing.join(', ')} missing or mistyped): ${JSON.stringify(value)}`,
    );
  }
  return value as unknown as SandboxResult;
}

export const brief = (r: SandboxResult) => ({
  status: r.status,
  stdout: r.stdout,
  stderr: r.stderr.slice(0, 500),
  ...('error' in r ? { error: r.error } : {}),
});

async function timedRuns(
  checks: Checks,
  env: ExecutionEnvironment,
  timeoutMs: number,
  language: 'javascript' | 'python',
  code: string,
  expected: string,
  count: number,
): Promise<Pick<LanguageTimings, 'runsMs' | 'sandboxMs' | 'runsCpuMs' | 'runsExtensionsMs'>> {
  const runsMs: number[] = [];
  const runsCpuMs: (number | undefined)[] = [];
  const runsExtensionsMs: (number | undefined)[] = [];
  const sandboxMs: { startMs: number; runMs: number }[] = [];
  const ordinals = ['first', 'second', 'third', 'fourth', 'fifth', 'sixth'].slice(0, count);
  for (const ordinal of ordinals) {
    const outcome = await env.invoke(request(language, code), timeoutMs);
    const result = resultOf(outcome);
    checks.check(
      `executor: ${language} ${ordinal} run succeeds`,
      result.status === 'succeeded' && result.stdout === expected,
      brief(result),
    );
    runsMs.push(outcome.durationMs);
    runsCpuMs.push(outcome.cpuMs);
    runsExtensionsMs.push(outcome.extensionsWaitMs);
    sandboxMs.push(result.timings);
  }
  return { runsMs, sandboxMs, runsCpuMs, runsExtensionsMs };
}

export async function executorScenarios(
  checks: Checks,
  workspace: Workspace,
  fn: AssemblyFunction,
  memoryMiB: number,
): Promise<{ timings: LanguageTimings[]; isolation: string }> {
  const timeoutMs = fn.timeoutSeconds * 1000;
  const timings: LanguageTimings[] = [];
  let isolation = '';

  const js = workspace.environment(fn, memoryMiB);
  await checks.step('executor: JavaScript environment', async () => {
    const initMs = await js.start();
    isolation = js.isolation;
    const runs = await timedRuns(checks, js, timeoutMs, 'javascript', 'console.log(6 * 7)', '42\n', 3);
    timings.push({
      language: 'JavaScript',
      initMs,
      initCpuMs: js.initCpuMs,
      initExtensionsMs: js.init.extensionsWaitMs,
      ...runs,
    });

    const ts = resultOf(
      await js.invoke(request('typescript', 'const n: number = 6 * 7;\nconsole.log(String(n));'), timeoutMs),
    );
    checks.check(
      'executor: TypeScript runs (esbuild from the asset)',
      ts.status === 'succeeded' && ts.stdout === '42\n',
      brief(ts),
    );

    // The example policy's sandbox profile bundles papaparse (#17): imported from its own asset.
    if (fn.constructPath.includes('/Executor-sandbox/')) {
      const code =
        'import Papa from "papaparse";\nconsole.log(Papa.parse("a,b\\n1,2", { header: true }).data[0].b)';
      const csv = resultOf(await js.invoke(request('javascript', code), timeoutMs));
      checks.check(
        'executor: papaparse is imported from the profile’s asset',
        csv.status === 'succeeded' && csv.stdout === '2\n',
        brief(csv),
      );
    }

    const looping = request('javascript', 'for (;;) {}', { limits: { ...LIMITS, timeoutMs: 1000 } });
    const timedOut = resultOf(await js.invoke(looping, timeoutMs));
    checks.check(
      'executor: an endless loop ends as timed_out',
      timedOut.status === 'timed_out',
      brief(timedOut),
    );

    const thrown = resultOf(await js.invoke(request('javascript', "throw new TypeError('boom')"), timeoutMs));
    checks.check(
      'executor: a thrown error is a failed result naming it',
      thrown.status === 'failed' &&
        thrown.error.name === 'TypeError' &&
        thrown.error.message.includes('boom'),
      brief(thrown),
    );

    const invalid = await js.invoke({ language: 'cobol' }, timeoutMs);
    checks.check(
      'executor: an invalid event is refused with ValidationError',
      !invalid.ok &&
        invalid.error.errorType === 'ValidationError' &&
        invalid.error.errorMessage.includes('language'),
      invalid,
    );
  });
  await js.close();

  const py = workspace.environment(fn, memoryMiB);
  await checks.step('executor: Python environment', async () => {
    const initMs = await py.start();
    const runs = await timedRuns(checks, py, timeoutMs, 'python', 'print(6 * 7)', '42\n', 6);
    timings.push({
      language: 'Python',
      initMs,
      initCpuMs: py.initCpuMs,
      initExtensionsMs: py.init.extensionsWaitMs,
      ...runs,
    });
    await prestartExtensionChecks(checks, py, runs);

    const secret = 'lambda-emu-secret-value-0123456789';
    const withSecret = resultOf(
      await py.invoke(
        request(
          'python',
          "import os\nprint(os.environ['API_TOKEN'] == 'lambda-emu-secret-value-0123456789')",
          {
            env: { API_TOKEN: secret },
          },
        ),
        timeoutMs,
      ),
    );
    checks.check(
      'executor: Python sees a secret passed in the event',
      withSecret.status === 'succeeded' && withSecret.stdout === 'True\n',
      brief(withSecret),
    );

    const raised = resultOf(await py.invoke(request('python', "raise ValueError('boom')"), timeoutMs));
    checks.check(
      'executor: a Python exception is a failed result naming it',
      raised.status === 'failed' && raised.error.name === 'ValueError',
      brief(raised),
    );

    const draw = request('python', 'import random\nprint(random.random())');
    const a = resultOf(await py.invoke(draw, timeoutMs));
    const b = resultOf(await py.invoke({ ...draw, executionId: `${draw.executionId}-again` }, timeoutMs));
    checks.check(
      "executor: Python's random.random() differs between two executions",
      a.status === 'succeeded' && b.status === 'succeeded' && a.stdout !== b.stdout,
      { first: brief(a), second: brief(b) },
    );
  });
  await py.close();

  await checks.step('executor: extension registration after init', () =>
    registrationAfterInitScenario(checks, workspace, fn, memoryMiB),
  );
  return { timings, isolation };
}
