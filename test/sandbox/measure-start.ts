/**
 * Measures how long a fresh execution takes to start, per language and path (not a test: tests
 * may not assert times). Run: npx tsx test/sandbox/measure-start.ts
 *
 * - naive Python: a Deno process that runs loadPyodide() from scratch (what a snapshot avoids)
 * - Python, snapshot, cold process: a new Deno process loading the memory snapshot per execution
 * - Python, pre-started: the process was loaded before the request arrived
 * - JavaScript: a fresh QuickJS WebAssembly instance + runtime + context per execution
 */
import { performance } from 'node:perf_hooks';
import type { SandboxRequest, SandboxResult } from '../../lambda/core/types.ts';
import { PythonSandbox } from '../../lambda/sandbox/python-sandbox.ts';
import { QuickJsSandbox } from '../../lambda/sandbox/quickjs-sandbox.ts';
import { resolveRuntimeFiles } from '../../lambda/sandbox/runtime-files.ts';

const LIMITS = { timeoutMs: 30_000, memoryMiB: 256, maxOutputBytes: 65_536 };
const ROUNDS = Number(process.env.ROUNDS ?? 5);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function measure(
  label: string,
  run: (request: SandboxRequest) => Promise<SandboxResult>,
  language: SandboxRequest['language'],
  code: string,
  pauseMs = 0,
): Promise<void> {
  const walls: number[] = [];
  const starts: number[] = [];
  for (let i = 0; i < ROUNDS; i += 1) {
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    const t0 = performance.now();
    const result = await run({ executionId: `m-${i}`, language, code, limits: LIMITS });
    walls.push(performance.now() - t0);
    starts.push(result.timings.startMs);
    if (result.status !== 'succeeded') throw new Error(`${label}: ${result.status}`);
  }
  console.log(
    `${label.padEnd(44)} wall median ${median(walls).toFixed(1).padStart(8)} ms   startMs median ${median(starts).toFixed(1).padStart(8)} ms`,
  );
}

const files = resolveRuntimeFiles();
const quickjs = new QuickJsSandbox();
await measure('javascript (first, compiles the engine)', (r) => quickjs.run(r), 'javascript', '1 + 1');
await measure('javascript (fresh instance each run)', (r) => quickjs.run(r), 'javascript', '1 + 1', 20);
await measure(
  'typescript (esbuild transform + QuickJS)',
  (r) => quickjs.run(r),
  'typescript',
  'const x: number = 1; x',
);
await quickjs.close();

// Naive: loadPyodide() from scratch in a fresh process for every run (no snapshot).
const naive = new PythonSandbox({ ...files }, { prestartedProcesses: 0 });
(naive as unknown as { snapshotPath: () => Promise<string> }).snapshotPath = async () => '';
await measure('python naive (loadPyodide per run)', (r) => naive.run(r), 'python', '1 + 1');
await naive.close();

const t0 = performance.now();
const cold = new PythonSandbox(files, { prestartedProcesses: 0 });
await cold.warmUp();
console.log(
  `${'python snapshot build (once per sandbox)'.padEnd(44)} ${(performance.now() - t0).toFixed(0)} ms`,
);
await measure('python snapshot, new process per run', (r) => cold.run(r), 'python', '1 + 1');
await cold.close();

const pooled = new PythonSandbox(files, { prestartedProcesses: 1, prestartMemoryMiB: LIMITS.memoryMiB });
await pooled.warmUp();
await measure('python snapshot, pre-started process', (r) => pooled.run(r), 'python', '1 + 1', 1_500);
await pooled.close();
