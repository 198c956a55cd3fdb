/**
 * The broker and the digester under the emulation: their modules must initialise (the import is
 * Lambda's init phase: no HOME, read-only code, no network), and an invocation must end in their
 * normal answer to a bad event or an unreachable AWS, not in a crashed runtime.
 */
import type { Checks } from './checks.ts';
import type { AssemblyFunction } from './cloud-assembly.ts';
import { readableLogs } from './execution-environment.ts';
import type { Workspace } from './workspace.ts';

export async function brokerScenario(
  checks: Checks,
  workspace: Workspace,
  fn: AssemblyFunction,
): Promise<void> {
  const env = workspace.environment(fn);
  await checks.step('broker: module init', async () => {
    const initMs = await env.start();
    checks.check(`broker: module init succeeds (${initMs.toFixed(0)} ms)`, true, '');
    // No requestContext, no signed caller: the broker must answer with an HTTP error, not throw.
    const outcome = await env.invoke(
      { httpMethod: 'POST', path: '/v1/executions', body: '{' },
      fn.timeoutSeconds * 1000,
    );
    const value = outcome.ok ? (outcome.value as { statusCode?: number; body?: string }) : undefined;
    checks.check(
      `broker: an invalid event gets an HTTP error response (${value?.statusCode})`,
      value !== undefined &&
        typeof value.statusCode === 'number' &&
        value.statusCode >= 400 &&
        typeof value.body === 'string',
      { outcome, logs: readableLogs(env.logs, 1500) },
    );
  });
  await env.close();
}

export async function digesterScenario(
  checks: Checks,
  workspace: Workspace,
  fn: AssemblyFunction,
): Promise<void> {
  const env = workspace.environment(fn);
  await checks.step('digester: module init', async () => {
    const initMs = await env.start();
    checks.check(`digester: module init succeeds (${initMs.toFixed(0)} ms)`, true, '');
    // No network: the table is unreachable, which the digester reports by failing the invocation.
    const outcome = await env.invoke({ invalid: true }, fn.timeoutSeconds * 1000);
    checks.check(
      `digester: an unreachable AWS fails the invocation, the runtime survives (${outcome.ok ? 'ok' : outcome.error.errorType})`,
      !outcome.ok && !['Runtime.Exited', 'Sandbox.Timedout'].includes(outcome.error.errorType),
      { outcome, logs: readableLogs(env.logs, 1500) },
    );
  });
  await env.close();
}
