/**
 * The Lambda functions as CDK ships them: each handler bundled by esbuild with the options
 * lib/bundling/lambda-defaults.ts gives NodejsFunction (ESM, node22, minified, source maps without sources
 * content, the AWS SDK bundled), the executor's runtime folder made by the same afterBundling
 * commands (lib/bundling/bundle-files.ts), and the executor's cold start in a fresh process.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { build } from 'esbuild';
import { executorBundleCommands } from '../lib/bundling/bundle-files.ts';
import { ROOT } from './floor.ts';
import { spawnTracked, stopTracked, waitForLine } from './lib/processes.ts';

/** The banner lib/bundling/lambda-defaults.ts adds so bundled CommonJS can `require` in an ES module. */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __custodyCreateRequire } from 'node:module'; const require = __custodyCreateRequire(import.meta.url);";

export interface BundleFigures {
  readonly entry: string;
  readonly bundleBytes: number;
  readonly sourceMapBytes: number;
  readonly buildMs: number;
}

export interface LambdaFigures {
  readonly bundles: Record<string, BundleFigures>;
  /** Executor runtime folder: file -> bytes (deno, pyodide files, host script, snapshot, esbuild). */
  readonly executorRuntimeBytes: Record<string, number>;
  readonly executorRuntimeTotalBytes: number;
  readonly executorRuntimeBuildMs: number;
  readonly coldInit?: {
    /** Process start to handler imported (Node's own start-up excluded: performance.now() origin). */
    readonly importMs: number;
    /** First JavaScript execution, from the handler call to its result. */
    readonly firstJsMs: number;
    /** First Python execution after that (snapshot on disk, no pre-started process yet), call to result. */
    readonly firstPythonMs: number;
    /** Spawn of the node process to the first JavaScript result, measured by the parent. */
    readonly spawnToFirstJsMs: number;
    readonly samples: number;
  };
  readonly coldInitError?: string;
  readonly note: string;
}

async function bundle(entry: string, outDir: string): Promise<BundleFigures> {
  mkdirSync(outDir, { recursive: true });
  const started = performance.now();
  await build({
    entryPoints: [join(ROOT, entry)],
    outfile: join(outDir, 'index.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    logLevel: 'silent',
  });
  return {
    entry,
    bundleBytes: statSync(join(outDir, 'index.mjs')).size,
    sourceMapBytes: statSync(join(outDir, 'index.mjs.map')).size,
    buildMs: Math.round(performance.now() - started),
  };
}

function filesUnder(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else out[relative(dir, full)] = statSync(full).size;
    }
  };
  walk(dir);
  return out;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round((sorted[Math.floor(sorted.length / 2)] ?? Number.NaN) * 10) / 10;
}

async function coldInit(bundleDir: string, samples: number): Promise<NonNullable<LambdaFigures['coldInit']>> {
  const runs: { importMs: number; firstJsMs: number; firstPythonMs: number; spawnToFirstJsMs: number }[] = [];
  for (let i = 0; i < samples; i++) {
    const spawned = performance.now();
    const child = spawnTracked(process.execPath, [join(ROOT, 'bench/cold-init-child.mjs'), bundleDir], {
      cwd: bundleDir,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        CUSTODY_RUNTIME_DIR: join(bundleDir, 'runtime'),
        CUSTODY_PROFILE: 'sandbox',
        AWS_LAMBDA_FUNCTION_NAME: 'custody-bench-executor',
        POWERTOOLS_LOG_LEVEL: 'WARN',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const [, json] = await waitForLine(child, /COLD (\{.*\})\n/, 120_000);
      const t = JSON.parse(json as string) as {
        ok: boolean;
        atStart: number;
        imported: number;
        jsDone: number;
        pyDone: number;
        jsStatus: string;
        pyStatus: string;
      };
      if (!t.ok) throw new Error(`cold executor answered ${t.jsStatus}/${t.pyStatus}`);
      runs.push({
        importMs: t.imported,
        firstJsMs: t.jsDone - t.imported,
        firstPythonMs: t.pyDone - t.jsDone,
        // The child's clock starts when Node does; the parent's spawn-to-result adds Node's own boot.
        spawnToFirstJsMs: performance.now() - spawned - (t.pyDone - t.jsDone),
      });
      // Let it close its sandbox (pre-started process, work folder) and exit by itself.
      if (child.exitCode === null && child.signalCode === null) {
        await Promise.race([
          once(child, 'exit'),
          new Promise((resolve) => setTimeout(resolve, 10_000).unref()),
        ]);
      }
    } finally {
      await stopTracked(child, 'SIGTERM', 10_000);
    }
  }
  return {
    importMs: median(runs.map((r) => r.importMs)),
    firstJsMs: median(runs.map((r) => r.firstJsMs)),
    firstPythonMs: median(runs.map((r) => r.firstPythonMs)),
    spawnToFirstJsMs: median(runs.map((r) => r.spawnToFirstJsMs)),
    samples,
  };
}

export async function measureLambda(coldSamples: number): Promise<LambdaFigures> {
  const out = mkdtempSync(join(tmpdir(), 'custody-bench-lambda-'));
  try {
    const bundles: Record<string, BundleFigures> = {};
    bundles.broker = await bundle('lambda/handlers/broker.ts', join(out, 'broker'));
    const executorDir = join(out, 'executor');
    bundles.executor = await bundle('lambda/handlers/executor.ts', executorDir);
    if (existsSync(join(ROOT, 'lambda/handlers/digester.ts'))) {
      bundles.auditDigest = await bundle('lambda/handlers/digester.ts', join(out, 'digest'));
    }
    const started = performance.now();
    for (const command of executorBundleCommands(ROOT, executorDir)) {
      execFileSync('sh', ['-c', command], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    }
    const executorRuntimeBuildMs = Math.round(performance.now() - started);
    const executorRuntimeBytes = filesUnder(join(executorDir, 'runtime'));
    const executorRuntimeTotalBytes = Object.values(executorRuntimeBytes).reduce((a, b) => a + b, 0);
    let cold: LambdaFigures['coldInit'];
    let coldInitError: string | undefined;
    try {
      cold = await coldInit(executorDir, coldSamples);
    } catch (error) {
      coldInitError = (error as Error).message.slice(0, 500);
    }
    return {
      bundles,
      executorRuntimeBytes,
      executorRuntimeTotalBytes,
      executorRuntimeBuildMs,
      ...(cold ? { coldInit: cold } : {}),
      ...(coldInitError ? { coldInitError } : {}),
      note: 'esbuild with NodejsFunction options of lib/bundling/lambda-defaults.ts; cold init in a fresh local node process (no Lambda sandbox, no VPC ENI, no code download): a lower bound of a real cold start',
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
