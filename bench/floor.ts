/**
 * The floor: what a signed request, a QuickJS run and a fresh Python process cost with nothing of
 * custody around them.
 *
 * - request: bench/floor-server.ts (SigV4 verification only) in its own process, called by the same
 *   client as custody, with the same bodies;
 * - JavaScript: quickjs-emscripten used directly (`getQuickJS()`, a new runtime and context per run
 *   on the one loaded module, `console.log` and `files.read` as host functions);
 * - TypeScript: esbuild's `transform` (types stripped), then the same bare QuickJS run;
 * - Python: a fresh Deno process running the project's Pyodide host (python-host.mjs) from a memory
 *   snapshot, with the same permission flags as custody, timed from spawn to result. No pre-started
 *   process: this is the cheapest *fresh* isolated Pyodide process.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { transform } from 'esbuild';
import { getQuickJS, type QuickJSWASMModule } from 'quickjs-emscripten';
import { loadPolicyFile } from '../lambda/core/policy.ts';
import type { RuntimeFiles } from '../lambda/sandbox/index.ts';
import { buildSnapshot, denoEnv, denoRunArgs, HOST_HEAP_MIB } from '../lambda/sandbox/python-host-process.ts';
import { QuickJsSandbox } from '../lambda/sandbox/quickjs-sandbox.ts';
import { spawnTracked, stopTracked, waitForLine } from './lib/processes.ts';
import { type SigningKey, signedClient } from './lib/signed-client.ts';
import { type LatencySummary, runAtConcurrency, summarize } from './lib/stats.ts';
import type { Workload } from './lib/workloads.ts';

export const ROOT = join(import.meta.dirname, '..');

export interface RequestFloor {
  /** Per request body (workload name): latency at concurrency 1. */
  readonly byWorkload: Record<string, LatencySummary>;
  /** The trivial body at concurrency 1, 8 and 32. */
  readonly byConcurrency: Record<string, LatencySummary>;
}

/** The signed-request floor, in its own process, called with each workload's body. */
export async function measureRequestFloor(
  key: SigningKey,
  bodies: Record<string, string>,
  samples: { perBody: (name: string) => number; concurrency: Record<number, number> },
): Promise<RequestFloor> {
  const child = spawnTracked(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench/floor-server.ts'), JSON.stringify(key)],
    {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  try {
    const [, port] = await waitForLine(child, /\{"port":(\d+)\}/, 30_000);
    const client = signedClient({ baseUrl: `http://127.0.0.1:${port}`, key });
    const call = async (body: string) => {
      const response = await client.send({ path: '/v1/executions', body });
      if (response.status !== 200)
        throw new Error(`floor server answered ${response.status}: ${response.body}`);
    };
    try {
      const trivial = bodies['js-trivial'] as string;
      for (let i = 0; i < 50; i++) await call(trivial);
      const byWorkload: Record<string, LatencySummary> = {};
      for (const [name, body] of Object.entries(bodies)) {
        await call(body);
        const run = await runAtConcurrency(samples.perBody(name), 1, () => call(body));
        byWorkload[name] = summarize(run.latenciesMs, run.wallMs);
      }
      const byConcurrency: Record<string, LatencySummary> = {};
      for (const [concurrency, count] of Object.entries(samples.concurrency)) {
        const run = await runAtConcurrency(count, Number(concurrency), () => call(trivial));
        byConcurrency[concurrency] = summarize(run.latenciesMs, run.wallMs);
      }
      return { byWorkload, byConcurrency };
    } finally {
      client.close();
    }
  } finally {
    child.stdin?.end();
    await stopTracked(child);
  }
}

/** One bare QuickJS run: new runtime + context, the two host functions, eval, dispose. */
function bareQuickJsRun(
  quickjs: QuickJSWASMModule,
  code: string,
  files: Readonly<Record<string, string>>,
): string {
  const runtime = quickjs.newRuntime();
  runtime.setMemoryLimit(512 * 1024 * 1024);
  const ctx = runtime.newContext();
  let stdout = '';
  try {
    const log = ctx.newFunction('log', (...args) => {
      stdout += `${args.map((a) => String(ctx.dump(a))).join(' ')}\n`;
    });
    const read = ctx.newFunction('read', (name) => ctx.newString(files[ctx.getString(name)] ?? ''));
    const consoleObject = ctx.newObject();
    const filesObject = ctx.newObject();
    ctx.setProp(consoleObject, 'log', log);
    ctx.setProp(filesObject, 'read', read);
    ctx.setProp(ctx.global, 'console', consoleObject);
    ctx.setProp(ctx.global, 'files', filesObject);
    for (const handle of [log, read, consoleObject, filesObject]) handle.dispose();
    const result = ctx.evalCode(code, 'main.js');
    if (result.error) {
      const error = ctx.dump(result.error);
      result.error.dispose();
      throw new Error(`bare QuickJS run failed: ${JSON.stringify(error)}`);
    }
    result.value.dispose();
    return stdout;
  } finally {
    ctx.dispose();
    runtime.dispose();
  }
}

export interface SandboxFloor {
  readonly summary: LatencySummary;
  readonly note: string;
}

/** Bare QuickJS (and esbuild + QuickJS for TypeScript) runs of a workload, sequentially. */
export async function measureBareQuickJs(workload: Workload, count: number): Promise<SandboxFloor> {
  const quickjs = await getQuickJS();
  const files = workload.files ?? {};
  const once = async () => {
    const code =
      workload.language === 'typescript'
        ? (await transform(workload.code, { loader: 'ts', target: 'es2023', logLevel: 'silent' })).code
        : workload.code;
    const out = bareQuickJsRun(quickjs, code, files);
    if (!out.includes(workload.expect)) throw new Error(`bare ${workload.name} printed ${out.slice(0, 200)}`);
  };
  for (let i = 0; i < 3; i++) await once();
  const run = await runAtConcurrency(count, 1, once);
  return {
    summary: summarize(run.latenciesMs, run.wallMs),
    note:
      workload.language === 'typescript'
        ? 'esbuild transform + quickjs-emscripten: new runtime and context per run on one loaded module'
        : 'quickjs-emscripten: new runtime and context per run on one loaded module',
  };
}

/**
 * custody's own QuickJS sandbox alone (lambda/sandbox/quickjs-sandbox.ts), with no request, policy
 * or audit around it: a fresh WebAssembly instance and memory per run, its prelude, limits and
 * output capture. Not part of the floor: it shows how much of custody's overhead over the floor is
 * the isolation of each run and how much the signed, audited path around it.
 */
export async function measureCustodyQuickJs(workload: Workload, count: number): Promise<SandboxFloor> {
  const profile = loadPolicyFile(join(ROOT, 'custody.policy.json')).profiles.sandbox;
  const sandbox = new QuickJsSandbox();
  let n = 0;
  const once = async () => {
    const result = await sandbox.run({
      executionId: `bench-${n++}`,
      language: workload.language,
      code: workload.code,
      limits: {
        timeoutMs: profile?.timeoutMs ?? 10_000,
        memoryMiB: profile?.memoryMiB ?? 1024,
        maxOutputBytes: profile?.maxOutputBytes ?? 1_048_576,
      },
      ...(workload.files ? { files: workload.files } : {}),
    });
    if (result.status !== 'succeeded' || !result.stdout.includes(workload.expect)) {
      throw new Error(
        `custody's sandbox: ${workload.name} ended ${result.status}: ${result.stdout.slice(0, 200)}`,
      );
    }
  };
  try {
    for (let i = 0; i < 20; i++) await once();
    const run = await runAtConcurrency(count, 1, once);
    return {
      summary: summarize(run.latenciesMs, run.wallMs),
      note: "custody's QuickJsSandbox: a fresh WebAssembly instance and memory per run, back to back",
    };
  } finally {
    await sandbox.close();
  }
}

/** The deno flags custody's Python host runs with (from lambda/sandbox/python-host-process.ts itself). */
export function denoHostArgs(files: RuntimeFiles, snapshotPath: string, memoryMiB: number): string[] {
  return [
    ...denoRunArgs([files.pyodideDir, files.hostScriptPath, snapshotPath]),
    `--v8-flags=--max-old-space-size=${HOST_HEAP_MIB + memoryMiB}`,
    files.hostScriptPath,
    'serve',
    files.pyodideDir,
    snapshotPath,
  ];
}

export interface PythonSnapshot {
  readonly path: string;
  readonly denoDir: string;
  readonly bytes: number;
  readonly buildMs: number;
  dispose(): void;
}

export async function preparePythonSnapshot(files: RuntimeFiles): Promise<PythonSnapshot> {
  const dir = mkdtempSync(join(tmpdir(), 'custody-bench-py-'));
  const denoDir = mkdtempSync(join(dir, 'deno-'));
  const started = performance.now();
  const bytes = await buildSnapshot(files, denoDir);
  const buildMs = performance.now() - started;
  const path = join(dir, 'pyodide.snapshot');
  writeFileSync(path, bytes, { mode: 0o400 });
  return {
    path,
    denoDir,
    bytes: bytes.length,
    buildMs,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Spawns one fresh host process, runs one job, returns stdout and the time from spawn to result. */
export async function freshPythonRun(
  files: RuntimeFiles,
  snapshot: PythonSnapshot,
  workload: Workload,
): Promise<{ totalMs: number; readyMs: number; stdout: string }> {
  const limits = { timeoutMs: 60_000, memoryMiB: 512, maxOutputBytes: 1024 * 1024 };
  const started = performance.now();
  const child = spawnTracked(files.denoPath, denoHostArgs(files, snapshot.path, limits.memoryMiB), {
    env: denoEnv(snapshot.denoDir),
    cwd: snapshot.denoDir,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  try {
    let readyMs = 0;
    let stdout = '';
    let pending = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (chunk: string) => {
        const lines = (pending + chunk).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          const message = JSON.parse(line) as { t: string; d?: string };
          if (message.t === 'ready') {
            readyMs = performance.now() - started;
            child.stdin?.end(
              `${JSON.stringify({ code: workload.code, files: workload.files ?? {}, env: {}, limits })}\n`,
            );
          } else if (message.t === 'o') stdout += message.d ?? '';
          else if (message.t === 'result') resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`python host exited (${code}) without a result`)));
    });
    const totalMs = performance.now() - started;
    if (!stdout.includes(workload.expect))
      throw new Error(`bare python ${workload.name} printed ${stdout.slice(0, 200)}`);
    return { totalMs, readyMs, stdout };
  } finally {
    await stopTracked(child, 'SIGKILL', 1_000);
  }
}

export async function measureBarePython(
  files: RuntimeFiles,
  snapshot: PythonSnapshot,
  workload: Workload,
  count: number,
): Promise<SandboxFloor & { readyP50Ms: number }> {
  await freshPythonRun(files, snapshot, workload);
  const ready: number[] = [];
  const run = await runAtConcurrency(count, 1, async () => {
    ready.push((await freshPythonRun(files, snapshot, workload)).readyMs);
  });
  ready.sort((a, b) => a - b);
  return {
    summary: summarize(run.latenciesMs, run.wallMs),
    readyP50Ms: Math.round((ready[Math.floor(ready.length / 2)] ?? Number.NaN) * 100) / 100,
    note: "fresh deno process per run: custody's python-host.mjs from a Pyodide memory snapshot, same permission flags, spawn to result, no pre-started process",
  };
}
