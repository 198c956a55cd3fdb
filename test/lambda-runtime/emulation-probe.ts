/**
 * Checks the emulation itself before trusting its results: a probe function, run exactly as the
 * assets are, tries what Lambda forbids (writing /var/task, reaching the network), reads what it
 * sets (user, HOME, TZ, /tmp's size), and measures that its timers stood still while frozen.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Checks } from './checks.ts';
import type { AssemblyFunction } from './cloud-assembly.ts';
import type { Workspace } from './workspace.ts';

const PROBE = `
import { statfsSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
const ticks = [];
let waiters = [];
setInterval(() => {
  ticks.push(Date.now());
  for (const resolve of waiters.splice(0)) resolve();
}, 10).unref();
// Resolves on the next tick of the 10 ms timer, so each invocation both leaves a tick behind it
// and, after a thaw, sees the first one after the freeze (an invocation can be over in under
// 10 ms, and its message can be read before the overdue timer fires).
const nextTick = () => new Promise((resolve) => waiters.push(resolve));
function attempt(body) { try { body(); return 'allowed'; } catch (e) { return e.code ?? String(e); } }
function reach(host, port) {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 3000 });
    socket.on('connect', () => { socket.destroy(); resolve('connected'); });
    socket.on('timeout', () => { socket.destroy(); resolve('timeout'); });
    socket.on('error', (e) => resolve(e.code ?? String(e)));
  });
}
export const handler = async (event) => {
  if (event.probe === 'hang') return new Promise(() => {});
  await nextTick();
  if (event.probe === 'gap') {
    let gap = 0;
    for (let i = 1; i < ticks.length; i++) gap = Math.max(gap, ticks[i] - ticks[i - 1]);
    return { maxTickGapMs: gap };
  }
  const tmp = statfsSync('/tmp');
  return {
    uid: process.getuid(),
    home: process.env.HOME ?? null,
    tz: process.env.TZ,
    nodeMajor: process.versions.node.split('.')[0],
    writeTask: attempt(() => writeFileSync('/var/task/probe.txt', 'x')),
    writeTmp: attempt(() => writeFileSync('/tmp/probe.txt', 'x')),
    writeRoot: attempt(() => writeFileSync('/probe.txt', 'x')),
    tmpMiB: Math.round((tmp.blocks * tmp.bsize) / 1048576),
    network: await reach('1.1.1.1', 443),
  };
};
`;

export async function emulationProbe(checks: Checks, workspace: Workspace): Promise<void> {
  const assetDir = path.join(workspace.dir, 'probe-asset');
  mkdirSync(assetDir, { mode: 0o755 });
  writeFileSync(path.join(assetDir, 'index.mjs'), PROBE);
  chmodSync(path.join(assetDir, 'index.mjs'), 0o644);
  const fn: AssemblyFunction = {
    logicalId: 'Probe',
    constructPath: 'Probe',
    assetDir,
    handler: 'index.handler',
    runtime: 'nodejs22.x',
    memoryMiB: 1024,
    timeoutSeconds: 10,
    environment: {},
  };
  const env = workspace.environment(fn);
  await checks.step('emulation: probe', async () => {
    await env.start();
    const outcome = await env.invoke({}, 10_000);
    const seen: Record<string, unknown> = outcome.ok
      ? (outcome.value as Record<string, unknown>)
      : { ...outcome };
    checks.check(
      'emulation: non-root uid 993, no HOME, TZ=:UTC, Node 22',
      outcome.ok && seen.uid === 993 && seen.home === null && seen.tz === ':UTC' && seen.nodeMajor === '22',
      seen,
    );
    checks.check(
      'emulation: /var/task and / are read-only, /tmp is a writable 512 MiB tmpfs',
      outcome.ok &&
        seen.writeTask === 'EROFS' &&
        seen.writeRoot === 'EROFS' &&
        seen.writeTmp === 'allowed' &&
        seen.tmpMiB === 512,
      seen,
    );
    checks.check(
      'emulation: no network',
      outcome.ok && seen.network !== 'connected' && seen.network !== 'timeout',
      seen,
    );
    // The environment is frozen now; its 10 ms timer must not tick while we wait.
    await sleep(400);
    const gap = await env.invoke({ probe: 'gap' }, 10_000);
    const maxTickGapMs = gap.ok ? (gap.value as { maxTickGapMs: number }).maxTickGapMs : -1;
    checks.check(
      `emulation: frozen between invocations (timer gap ${maxTickGapMs} ms)`,
      maxTickGapMs >= 400,
      gap,
    );
    const hung = await env.invoke({ probe: 'hang' }, 1000);
    const next = await env.invoke({}, 10_000).then(
      () => 'answered',
      (error: Error) => error.message,
    );
    checks.check(
      'emulation: an invocation past the function timeout fails and ends the environment',
      !hung.ok && hung.error.errorType === 'Sandbox.Timedout' && /exited/.test(next),
      { hung, next },
    );
  });
  await env.close();
}
