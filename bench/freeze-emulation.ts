/**
 * Python in the executor across Lambda's freeze, emulated (a measurement, not a test).
 * Run as root on Linux with cgroup v1 or v2: npx tsx bench/freeze-emulation.ts
 *
 * The executor handler runs in a child Node process placed in its own cgroups before it starts:
 * a CPU cap of CPU_SHARE of one core (0.58: Lambda's share at 1024 MB), and a freezer, frozen
 * between invocations as Lambda freezes the environment after each response (the child and every
 * process it started, including a pre-started Deno). The runtime folder holds a prebuilt snapshot,
 * as the executor asset does. Prints init and per-run handler times.
 *
 * EXTENSION=1 also serves the Extensions API's register and next-event calls, as Lambda does for
 * the executor's internal extension (settle-extension.ts): the freeze then waits for the
 * extension to ask for its next event, and each run prints when that came (billed, not latency).
 */

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSnapshot } from '../lambda/sandbox/python-host-process.ts';
import { RUNTIME_LAYOUT, resolveRuntimeFiles } from '../lambda/sandbox/runtime-files.ts';

const CPU_SHARE = Number(process.env.CPU_SHARE ?? 0.58);
const RUNS = Number(process.env.RUNS ?? 6);
const GAP_MS = Number(process.env.GAP_MS ?? 1_000);
const PERIOD_US = 100_000;
const EXTENSION = process.env.EXTENSION === '1';

/** The Extensions API as Lambda serves it to one extension: INVOKE events on demand. */
let parked: ServerResponse | undefined;
let onParked: (() => void) | undefined;
const extensionApi = createServer((req, res) => {
  if (req.url?.endsWith('/extension/register')) {
    res.writeHead(200, { 'Lambda-Extension-Identifier': 'emulated' }).end('{}');
  } else if (req.url?.endsWith('/extension/event/next')) {
    parked = res;
    onParked?.();
  } else {
    res.writeHead(404).end();
  }
});
await new Promise<void>((resolve) => extensionApi.listen(0, '127.0.0.1', resolve));
const runtimeApi = `127.0.0.1:${(extensionApi.address() as AddressInfo).port}`;
/** Resolves once the extension has asked for its next event (it is done with the last one). */
async function extensionIdle(): Promise<void> {
  if (!EXTENSION) return;
  while (!parked) await new Promise<void>((resolve) => (onParked = resolve));
}
function startInvoke(): void {
  if (!EXTENSION || !parked) return;
  parked.writeHead(200).end(JSON.stringify({ eventType: 'INVOKE' }));
  parked = undefined;
}

/** Makes a cgroup of one controller (v1) or in the unified hierarchy (v2); returns its folder. */
function cgroups(name: string): { cpu: string; freezer: string; freeze(on: boolean): void; remove(): void } {
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  const quota = `${Math.round(CPU_SHARE * PERIOD_US)}`;
  if (v2) {
    const dir = join('/sys/fs/cgroup', name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
    return {
      cpu: dir,
      freezer: dir,
      freeze: (on) => writeFileSync(join(dir, 'cgroup.freeze'), on ? '1' : '0'),
      remove: () => rmdirSync(dir),
    };
  }
  const cpu = join('/sys/fs/cgroup/cpu', name);
  const freezer = join('/sys/fs/cgroup/freezer', name);
  mkdirSync(cpu);
  mkdirSync(freezer);
  writeFileSync(join(cpu, 'cpu.cfs_period_us'), `${PERIOD_US}`);
  writeFileSync(join(cpu, 'cpu.cfs_quota_us'), quota);
  return {
    cpu,
    freezer,
    freeze: (on) => writeFileSync(join(freezer, 'freezer.state'), on ? 'FROZEN' : 'THAWED'),
    remove: () => {
      rmdirSync(cpu);
      rmdirSync(freezer);
    },
  };
}

const files = resolveRuntimeFiles();
const runtimeDir = mkdtempSync(join(tmpdir(), 'custody-emu-runtime-'));
symlinkSync(files.denoPath, join(runtimeDir, RUNTIME_LAYOUT.deno));
symlinkSync(files.pyodideDir, join(runtimeDir, RUNTIME_LAYOUT.pyodideDir));
symlinkSync(files.hostScriptPath, join(runtimeDir, RUNTIME_LAYOUT.hostScript));
const denoTmp = mkdtempSync(join(tmpdir(), 'custody-emu-deno-'));
writeFileSync(join(runtimeDir, RUNTIME_LAYOUT.snapshot), await buildSnapshot(files, denoTmp));
rmSync(denoTmp, { recursive: true, force: true });

const child = join(import.meta.dirname, 'freeze-emulation-child.ts');
const groups = cgroups(`custody-emu-${process.pid}`);
const procs = (dir: string) => join(dir, existsSync(join(dir, 'cgroup.procs')) ? 'cgroup.procs' : 'tasks');
const enter = [...new Set([procs(groups.cpu), procs(groups.freezer)])]
  .map((p) => `echo $$ > ${p}`)
  .join('; ');
const started = performance.now();
const executor = spawn('sh', ['-c', `${enter}; exec node --import tsx ${child}`], {
  env: {
    ...process.env,
    CUSTODY_RUNTIME_DIR: runtimeDir,
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    ...(EXTENSION ? { AWS_LAMBDA_RUNTIME_API: runtimeApi, CUSTODY_PRESTART_EXTENSION: '1' } : {}),
  },
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
type Reply = { t: 'init'; initMs: number } | { t: 'done'; ms: number; status: string; startMs: number };
const replies: Reply[] = [];
let wake: (() => void) | undefined;
executor.on('message', (m: Reply) => {
  replies.push(m);
  wake?.();
});
async function next(): Promise<Reply> {
  while (replies.length === 0) await new Promise<void>((resolve) => (wake = resolve));
  return replies.shift() as Reply;
}
try {
  const init = await next();
  const initWall = performance.now() - started;
  console.log(
    `cpu ${CPU_SHARE} of a core; init ${init.t === 'init' ? init.initMs.toFixed(0) : '?'} ms (wall ${initWall.toFixed(0)} ms)`,
  );
  await extensionIdle();
  groups.freeze(true);
  for (let i = 0; i < RUNS; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, GAP_MS));
    groups.freeze(false);
    const invoked = performance.now();
    startInvoke();
    executor.send({ t: 'run', code: i % 2 === 0 ? 'import random\nrandom.random()' : 'sum(range(1000))' });
    const done = await next();
    await extensionIdle();
    const frozenAfterMs = performance.now() - invoked;
    groups.freeze(true);
    if (done.t === 'done') {
      console.log(
        `run ${i + 1}: handler ${done.ms.toFixed(0)} ms (${done.status}, startMs ${done.startMs.toFixed(0)})${EXTENSION ? `, frozen after ${frozenAfterMs.toFixed(0)} ms` : ''}`,
      );
    }
  }
} finally {
  groups.freeze(false);
  executor.send({ t: 'exit' });
  await once(executor, 'exit');
  groups.remove();
  parked?.writeHead(200).end(JSON.stringify({ eventType: 'SHUTDOWN' }));
  extensionApi.close();
  rmSync(runtimeDir, { recursive: true, force: true });
}
