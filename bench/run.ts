/**
 * `npm run bench`: custody's speed, side by side with the floor and with the naive peer, all
 * measured in this one run on this machine. Prints a table, writes bench/results.json and
 * BENCHMARKS.md. `npm run bench -- --quick` runs a small sample of each (a smoke run; its figures
 * are not for publishing).
 *
 * Phases (each one's own processes are stopped before the next starts):
 *   1. floor: signed request to a SigV4-only server, bare QuickJS, esbuild + QuickJS, fresh Pyodide process
 *   2. peer stand-in: fresh loadPyodide() per execution
 *   3. custody local end to end at concurrency 1, 8, 32, and the server's peak RSS at 32
 *   4. Lambda bundles and the executor's cold init
 *   5. audit store write throughput (bench/audit-throughput.ts), folded in
 *   6. JavaScript packages: start-up of a profile with a bundled package against one without (bench/js-packages.ts)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { resolveRuntimeFiles } from '../lambda/sandbox/index.ts';
import {
  concurrency32Memory,
  type E2eFigures,
  execute,
  executionBody,
  measurePaced,
  measureWorkload,
  startCustodyServer,
} from './e2e.ts';
import {
  measureBarePython,
  measureBareQuickJs,
  measureCustodyQuickJs,
  measureRequestFloor,
  preparePythonSnapshot,
  ROOT,
  type SandboxFloor,
} from './floor.ts';
import { measureJavaScriptPackages } from './js-packages.ts';
import { type LambdaFigures, measureLambda } from './lambda.ts';
import { installCleanupHooks, killAllTracked } from './lib/processes.ts';
import { type LatencySummary, round } from './lib/stats.ts';
import { generateCsv, workloads } from './lib/workloads.ts';
import { measureNaivePyodide, type PeerFigures } from './peer.ts';
import {
  measurePythonPackages,
  renderPythonPackages,
  renderPythonPackagesMarkdown,
} from './python-packages.ts';
import { type BenchResults, derive, renderConsole, renderMarkdown, type SessionFigures } from './report.ts';
import { measureSessionCalls } from './session.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const quick = process.argv.includes('--quick');
const scale = (full: number, small: number) => (quick ? small : full);

/** Fixed sample counts: the whole run stays under five minutes on two cores. */
const SAMPLES = {
  floorPerBody: (name: string) => (name.endsWith('csv') ? scale(50, 5) : scale(300, 30)),
  floorConcurrency: { 1: scale(300, 30), 8: scale(800, 80), 32: scale(1600, 160) },
  bareQuickJs: (name: string) => (name.endsWith('csv') ? scale(20, 3) : scale(300, 30)),
  barePython: (name: string) => (name.endsWith('csv') ? scale(5, 2) : scale(10, 3)),
  peer: scale(5, 2),
  e2e: {
    'js-trivial': { 1: scale(200, 20), 8: scale(400, 40), 32: scale(640, 64) },
    'ts-trivial': { 1: scale(200, 20), 8: scale(400, 40), 32: scale(640, 64) },
    'py-trivial': { 1: scale(20, 4), 8: scale(32, 8), 32: scale(64, 32) },
    'js-csv': { 1: scale(20, 3), 8: scale(32, 8), 32: scale(64, 32) },
    'py-csv': { 1: scale(8, 2), 8: scale(16, 8), 32: scale(32, 32) },
  } as Record<string, Record<number, number>>,
  pacedPython: scale(8, 2),
  /** Calls in one session, one at a time: the programs of the concurrency-1 rows they sit beside. */
  session: { 'js-trivial': scale(200, 20), 'py-trivial': scale(20, 4) } as Record<string, number>,
  coldInit: scale(3, 1),
  auditRecords: scale(300, 100),
  javascriptPackages: scale(100, 10),
};

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

async function phase<T>(name: string, timings: Record<string, number>, work: () => Promise<T>): Promise<T> {
  log(`${name}...`);
  const started = performance.now();
  try {
    return await work();
  } finally {
    timings[name] = round((performance.now() - started) / 1000, 1);
    log(`${name} done in ${timings[name]} s`);
  }
}

function denoVersion(denoPath: string): string {
  try {
    return execFileSync(denoPath, ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Folds in the audit helper's throughput script: its markdown table rows, as printed. */
function auditThroughput(records: number): string[] {
  try {
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'bench/audit-throughput.ts'), String(records), '1,8,32'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      },
    );
    return out.split('\n').filter((line) => line.startsWith('|') || line.startsWith('audit throughput'));
  } catch (error) {
    return [`audit throughput not measured: ${(error as Error).message.split('\n')[0]}`];
  }
}

async function main(): Promise<void> {
  installCleanupHooks();
  const started = performance.now();
  const loadStart = loadavg().map((l) => round(l));
  const phases: Record<string, number> = {};
  const files = resolveRuntimeFiles();
  const csv = generateCsv();
  const all = workloads(csv);
  const bodies = Object.fromEntries(Object.values(all).map((w) => [w.name, executionBody(w)]));

  // 1. floor
  const floorKey = {
    accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64'),
  };
  const requestFloor = await phase('floor: signed request', phases, () =>
    measureRequestFloor(floorKey, bodies, {
      perBody: SAMPLES.floorPerBody,
      concurrency: SAMPLES.floorConcurrency,
    }),
  );
  const sandboxFloor: Record<string, SandboxFloor & { readyP50Ms?: number }> = {};
  await phase('floor: bare QuickJS', phases, async () => {
    for (const name of ['js-trivial', 'ts-trivial', 'js-csv']) {
      sandboxFloor[name] = await measureBareQuickJs(all[name]!, SAMPLES.bareQuickJs(name));
    }
  });
  const custodySandbox: Record<string, SandboxFloor> = {};
  await phase("custody's QuickJS sandbox alone", phases, async () => {
    for (const name of ['js-trivial', 'ts-trivial', 'js-csv']) {
      custodySandbox[name] = await measureCustodyQuickJs(all[name]!, SAMPLES.bareQuickJs(name));
    }
  });
  const snapshot = await phase('floor: Pyodide snapshot', phases, () => preparePythonSnapshot(files));
  let peer: PeerFigures;
  try {
    await phase('floor: fresh Python process', phases, async () => {
      for (const name of ['py-trivial', 'py-csv']) {
        sandboxFloor[name] = await measureBarePython(files, snapshot, all[name]!, SAMPLES.barePython(name));
      }
    });
    // 2. peer
    peer = await phase('peer: fresh loadPyodide() per execution', phases, () =>
      measureNaivePyodide(files, all['py-trivial']!, SAMPLES.peer, snapshot.denoDir),
    );
  } finally {
    snapshot.dispose();
  }

  // 3. custody end to end
  const e2e: Record<string, E2eFigures> = {};
  let pacedPython: LatencySummary | undefined;
  const sessions: SessionFigures = {};
  const memory = await phase('custody local end to end', phases, async () => {
    const server = await startCustodyServer();
    try {
      // The server builds its Pyodide snapshot and pre-starts a process at start-up: let that
      // finish before anything is timed, so it does not compete with the first workload.
      const python = all['py-trivial']!;
      for (let i = 0; i < 2; i++) await execute(server.client, python, bodies['py-trivial']!);
      const tracker = concurrency32Memory(server.pid);
      for (const name of ['js-trivial', 'ts-trivial', 'py-trivial', 'js-csv', 'py-csv']) {
        const workload = all[name]!;
        // Trivial programs: enough runs for the server's own code paths to be compiled by V8 first.
        const warmUp = workload.language === 'python' ? 3 : name.endsWith('csv') ? 3 : 100;
        log(`  ${name}`);
        e2e[name] = await measureWorkload(server, workload, SAMPLES.e2e[name]!, warmUp, tracker.hook);
      }
      // Agents think between runs: Python with a pause before each run, so a pre-started
      // process is ready (the concurrency-1 figures above run back to back, the worst case).
      pacedPython = await measurePaced(server, python, SAMPLES.pacedPython, 1_000);
      // The same programs as calls of a session, on the same server: what a session adds to a call.
      for (const [name, count] of Object.entries(SAMPLES.session)) {
        log(`  ${name} in a session`);
        try {
          const warmUp = all[name]!.language === 'python' ? 2 : 20;
          sessions[name] = await measureSessionCalls(server, all[name]!, count, warmUp);
        } catch (error) {
          sessions[name] = { error: (error as Error).message.split('\n')[0] ?? 'unknown error' };
        }
      }
      return tracker.result();
    } finally {
      await server.stop();
    }
  });

  // 4. Lambda
  let lambda: LambdaFigures | { error: string };
  try {
    lambda = await phase('lambda bundles and cold init', phases, () => measureLambda(SAMPLES.coldInit));
  } catch (error) {
    lambda = { error: (error as Error).message.slice(0, 500) };
  }

  // 5. audit throughput
  const audit = await phase('audit store throughput', phases, async () =>
    auditThroughput(SAMPLES.auditRecords),
  );

  // 6. JavaScript packages (#17): a profile with a bundled package against one without
  const javascriptPackages = await phase('javascript packages', phases, () =>
    measureJavaScriptPackages(SAMPLES.javascriptPackages).catch((error: Error) => [
      `not measured: ${error.message.split('\n')[0]}`,
    ]),
  );

  // 7. a profile with a bundled Pyodide package against one without (bench/python-packages.ts)
  const pythonPackages = await phase('python packages', phases, () => measurePythonPackages(scale(5, 2)));

  const results: BenchResults = {
    schemaVersion: 1,
    mode: quick ? 'quick' : 'full',
    generatedAt: new Date().toISOString(),
    durationS: round((performance.now() - started) / 1000, 1),
    phasesS: phases,
    machine: {
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      cores: availableParallelism(),
      memoryGiB: round(totalmem() / 1024 ** 3, 1),
      node: process.version,
      deno: denoVersion(files.denoPath),
      platform: `${process.platform} ${release()} ${process.arch}`,
      loadAverageStart: loadStart,
      loadAverageEnd: loadavg().map((l) => round(l)),
    },
    csv: { bytes: Buffer.byteLength(csv.text), rows: csv.rows },
    floor: { request: requestFloor, sandbox: sandboxFloor, custodySandbox },
    custody: { workloads: e2e, memory, ...(pacedPython ? { pacedPython } : {}), sessions },
    peer,
    lambda,
    auditThroughput: audit,
    javascriptPackages,
  };
  results.derived = derive(results);
  // A quick run is a smoke test: its figures never replace the published ones.
  const jsonPath = quick ? join(tmpdir(), 'custody-bench-quick.json') : join(ROOT, 'bench/results.json');
  const markdownPath = quick ? join(tmpdir(), 'custody-bench-quick.md') : join(ROOT, 'BENCHMARKS.md');
  writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(markdownPath, renderMarkdown(results) + renderPythonPackagesMarkdown(pythonPackages));
  process.stdout.write(renderConsole(results));
  process.stdout.write(`${renderPythonPackages(pythonPackages).join('\n')}\n`);
  log(`wrote ${jsonPath} and ${markdownPath} in ${results.durationS} s`);
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`bench: failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    killAllTracked();
  });
