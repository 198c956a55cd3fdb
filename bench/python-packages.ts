/**
 * The start-up cost of a profile's Pyodide packages (#17): a Python run in a fresh process (the
 * pre-started pool off, so each run pays the load) for a profile without packages and for one
 * that bundles a package, and the cost of importing that package (detected in the code, then
 * loaded from the bundle before the run). Then whether the package can instead be preloaded into
 * the memory snapshot (Pyodide refuses: reported, not hidden).
 *
 * The package is a pure-Python wheel built here (no network): it measures custody's machinery,
 * not numpy's own import time.
 *
 *   npx tsx bench/python-packages.ts [rounds=5]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SandboxRequest } from '../lambda/core/types.ts';
import { PythonSandbox } from '../lambda/sandbox/python-sandbox.ts';
import { runtimeFilesFromNodeModules } from '../lambda/sandbox/runtime-files.ts';
import { bundlePythonPackages, readPyodideLock } from '../lib/bundling/pyodide-packages.ts';
import { lockOf, pureWheel } from '../test/support/python-wheel.ts';

const LIMITS = { timeoutMs: 30_000, memoryMiB: 256, maxOutputBytes: 65_536 };

export interface PythonPackageFigures {
  readonly rounds: number;
  /** Median wall time of `6 * 7` in a fresh process, ms. */
  readonly trivialWithoutPackagesMs: number;
  readonly trivialWithPackageMs: number;
  /** Median wall time of `import <bundled package>` in a fresh process, ms. */
  readonly importBundledMs: number;
  /** Preloading into the memory snapshot: Pyodide's answer. */
  readonly snapshotPreload: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)] ?? Number.NaN);
}

/** One run's wall time, in ms. */
async function wall(sandbox: PythonSandbox, code: string, i: number): Promise<number> {
  const request: SandboxRequest = {
    executionId: `b-${i}`,
    language: 'python',
    code,
    limits: LIMITS,
    profile: 'bench',
  };
  const started = performance.now();
  const result = await sandbox.run(request);
  if (result.status !== 'succeeded') throw new Error(`${code}: ${result.status} ${result.stderr}`);
  return performance.now() - started;
}

/** Median wall times of the cases, run round by round in turn (a change in load hits each alike). */
async function interleavedMedians(
  cases: readonly { readonly sandbox: PythonSandbox; readonly code: string }[],
  rounds: number,
): Promise<number[]> {
  const walls = cases.map(() => [] as number[]);
  for (let round = 0; round < rounds; round += 1) {
    for (const [i, { sandbox, code }] of cases.entries()) walls[i]?.push(await wall(sandbox, code, round));
  }
  return walls.map(median);
}

/** Tries to make a snapshot after loading the package (what preloading into the snapshot needs). */
function snapshotPreload(pyodideDir: string, packagesDir: string, denoPath: string, scratch: string): string {
  const script = join(scratch, 'preload.mjs');
  writeFileSync(
    script,
    `const [pyodideDir, packagesDir] = Deno.args;
const { loadPyodide } = await import('file://' + pyodideDir + '/pyodide.mjs');
const lock = JSON.parse(await Deno.readTextFile(packagesDir + '/pyodide-lock.json'));
const quiet = () => {};
const py = await loadPyodide({ indexURL: pyodideDir + '/', lockFileContents: lock, packageBaseUrl: packagesDir + '/', _makeSnapshot: true, stdout: quiet, stderr: quiet });
await py.loadPackage(Object.keys(lock.packages), { messageCallback: quiet, errorCallback: quiet });
try { console.log('snapshot made: ' + py.makeMemorySnapshot().length + ' bytes'); }
catch (e) { console.log('Pyodide refuses: ' + e.message); }
`,
  );
  const result = spawnSync(
    denoPath,
    ['run', `--allow-read=${pyodideDir},${packagesDir},${script}`, script, pyodideDir, packagesDir],
    {
      env: { NO_COLOR: '1', DENO_DIR: join(scratch, 'deno') },
      encoding: 'utf8',
    },
  );
  return (result.stdout.trim() || result.stderr.trim().split('\n')[0]) ?? 'no answer';
}

export async function measurePythonPackages(rounds: number): Promise<PythonPackageFigures> {
  const scratch = mkdtempSync(join(tmpdir(), 'custody-bench-pypkgs-'));
  try {
    const wheel = pureWheel('custody-bench', {
      'custody_bench/__init__.py': 'from .data import TABLE\ndef total():\n    return sum(TABLE)\n',
      'custody_bench/data.py': `TABLE = [${Array.from({ length: 2000 }, (_, i) => i).join(', ')}]\n`,
    });
    const mirror = join(scratch, 'mirror');
    mkdirSync(mirror);
    writeFileSync(join(mirror, wheel.fileName), wheel.bytes);
    const runtime = runtimeFilesFromNodeModules();
    const packagesDir = join(scratch, 'python-packages');
    await bundlePythonPackages({
      names: ['custody-bench'],
      lock: lockOf(readPyodideLock(runtime.pyodideDir).lock.info, [wheel]),
      profileName: 'bench',
      baseUrl: pathToFileURL(mirror).href,
      cacheDir: join(scratch, 'cache'),
      outDir: packagesDir,
    });
    const options = { prestartedProcesses: 0, maxConcurrent: 1, snapshotDir: join(scratch, 'snapshot') };
    const without = new PythonSandbox(runtime, options);
    const withPackage = new PythonSandbox({ ...runtime, pythonPackagesDir: packagesDir }, options);
    try {
      await without.warmUp();
      await withPackage.warmUp();
      const [withoutMs, withMs, importMs] = await interleavedMedians(
        [
          { sandbox: without, code: '6 * 7' },
          { sandbox: withPackage, code: '6 * 7' },
          { sandbox: withPackage, code: 'import custody_bench\ncustody_bench.total()' },
        ],
        rounds,
      );
      return {
        rounds,
        trivialWithoutPackagesMs: withoutMs ?? Number.NaN,
        trivialWithPackageMs: withMs ?? Number.NaN,
        importBundledMs: importMs ?? Number.NaN,
        snapshotPreload: snapshotPreload(runtime.pyodideDir, packagesDir, runtime.denoPath, scratch),
      };
    } finally {
      await without.close();
      await withPackage.close();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The report's lines. */
export function renderPythonPackages(f: PythonPackageFigures): string[] {
  return [
    `Python packages (#17), fresh process per run, median of ${f.rounds}:`,
    `  profile without packages, 6 * 7            ${f.trivialWithoutPackagesMs} ms`,
    `  profile bundling a package, 6 * 7          ${f.trivialWithPackageMs} ms`,
    `  profile bundling a package, import it      ${f.importBundledMs} ms (detected in the code, loaded from the bundle)`,
    `  preloading it into the memory snapshot     ${f.snapshotPreload}`,
  ];
}

/** The same figures as a section of BENCHMARKS.md. */
export function renderPythonPackagesMarkdown(f: PythonPackageFigures): string {
  return [
    '',
    `## Python packages: a profile with a bundled Pyodide package against one without (bench/python-packages.ts)`,
    '',
    '| case | median (ms) |',
    '|---|---|',
    `| profile without packages, \`6 * 7\` | ${f.trivialWithoutPackagesMs} |`,
    `| profile bundling a package, \`6 * 7\` | ${f.trivialWithPackageMs} |`,
    `| profile bundling a package, importing it (detected in the code, loaded from the bundle) | ${f.importBundledMs} |`,
    `| preloading it into the memory snapshot instead | ${f.snapshotPreload} |`,
    '',
    `A fresh Deno process per run (start-up included), the three cases interleaved, median of ${f.rounds}; the package is a small pure-Python wheel the bench builds (no network).`,
    '',
  ].join('\n');
}

if (resolve(process.argv[1] ?? '') === resolve(import.meta.filename)) {
  const figures = await measurePythonPackages(Number(process.argv[2] ?? 5));
  process.stdout.write(`${renderPythonPackages(figures).join('\n')}\n`);
}
