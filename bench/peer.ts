/**
 * The peer stand-in: a fresh `loadPyodide()` per execution in a long-lived Deno process
 * (bench/peer-host.mjs), the way Pyodide-in-Deno MCP sandboxes run Python.
 */
import { join } from 'node:path';
import type { RuntimeFiles } from '../lambda/sandbox/index.ts';
import { denoEnv, denoRunArgs } from '../lambda/sandbox/python-host-process.ts';
import { ROOT } from './floor.ts';
import { spawnTracked, stopTracked, waitForLine } from './lib/processes.ts';
import { type LatencySummary, runAtConcurrency, summarize } from './lib/stats.ts';
import type { Workload } from './lib/workloads.ts';

export interface PeerFigures {
  readonly summary: LatencySummary;
  /** Median time of `loadPyodide()` alone, inside the host. */
  readonly loadP50Ms: number;
  readonly note: string;
}

export async function measureNaivePyodide(
  files: RuntimeFiles,
  workload: Workload,
  count: number,
  denoDir: string,
): Promise<PeerFigures> {
  const script = join(ROOT, 'bench/peer-host.mjs');
  const child = spawnTracked(
    files.denoPath,
    // The peer gets custody's own permission flags, so the comparison is of start-up alone.
    [...denoRunArgs([files.pyodideDir, script]), script, files.pyodideDir],
    {
      env: denoEnv(denoDir),
      cwd: denoDir,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  try {
    await waitForLine(child, /\{"t":"ready"\}/, 60_000);
    let pending = '';
    const waiting: ((line: string) => void)[] = [];
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('{"t":"result"')) waiting.shift()?.(line);
    });
    const loads: number[] = [];
    const once = async () => {
      const line = new Promise<string>((resolve) => waiting.push(resolve));
      child.stdin?.write(`${JSON.stringify({ code: workload.code, files: workload.files ?? {} })}\n`);
      const result = JSON.parse(await line) as { stdout: string; error?: string; loadMs: number };
      if (result.error || !result.stdout.includes(workload.expect)) {
        throw new Error(`naive pyodide ${workload.name}: ${result.error ?? result.stdout.slice(0, 200)}`);
      }
      loads.push(result.loadMs);
    };
    await once();
    loads.length = 0;
    const run = await runAtConcurrency(count, 1, once);
    loads.sort((a, b) => a - b);
    return {
      summary: summarize(run.latenciesMs, run.wallMs),
      loadP50Ms: Math.round((loads[Math.floor(loads.length / 2)] ?? Number.NaN) * 100) / 100,
      note: 'one long-lived deno process, fresh loadPyodide() (no snapshot) per execution, as mcp-run-python runCode does (without its micropip/pydantic loads); no process isolation between runs',
    };
  } finally {
    child.stdin?.end();
    await stopTracked(child, 'SIGKILL', 1_000);
  }
}
