/**
 * The executor as Lambda runs it: bundled by esbuild the way the CDK NodejsFunction does
 * (platform node, target node22, an ES module with its require banner), with the runtime files the afterBundling commands
 * copy, loaded from a folder where no node_modules can be found.
 */
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executorBundleCommands } from '../../../lib/bundling/bundle-files.ts';

/** The banner lib/bundling/lambda-defaults.ts adds so bundled CommonJS can `require` in an ES module. */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __custodyCreateRequire } from 'node:module'; const require = __custodyCreateRequire(import.meta.url);";

let outDir: string;

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'custody-executor-bundle-'));
  await build({
    entryPoints: [join(process.cwd(), 'lambda/handlers/executor.ts')],
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    outfile: join(outDir, 'index.mjs'),
    logLevel: 'silent',
  });
  for (const command of executorBundleCommands(process.cwd(), outDir)) {
    execSync(command, { shell: '/bin/bash', stdio: 'pipe' });
  }
}, 180_000);

afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
});

/**
 * Invokes the bundled handler in a fresh Node process with only LAMBDA_TASK_ROOT (and PATH) set,
 * as Lambda would; the outcome is reported on stderr so the handler's log line stays apart.
 */
function run(event: unknown): string {
  const script = `
    import('./index.mjs').then(({ handler }) => handler(JSON.parse(process.argv[1]))).then(
      (result) => { process.stderr.write('RESULT ' + JSON.stringify(result)); process.exit(0); },
      (error) => { process.stderr.write('ERROR ' + error.message); process.exit(0); },
    );`;
  const child = spawnSync(process.execPath, ['-e', script, JSON.stringify(event)], {
    cwd: outDir,
    env: { LAMBDA_TASK_ROOT: outDir, PATH: '/usr/bin:/bin', CUSTODY_PRESTARTED_PROCESSES: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    timeout: 120_000,
  });
  return child.stderr;
}

const LIMITS = { timeoutMs: 10_000, memoryMiB: 64, maxOutputBytes: 4_096 };

describe('executor bundle', () => {
  it('holds everything it needs beside the handler', () => {
    for (const file of [
      'index.mjs',
      'runtime/deno',
      'runtime/pyodide/pyodide.asm.wasm',
      'runtime/python-host.mjs',
      'runtime/pyodide.snapshot',
      'runtime/esbuild',
    ]) {
      expect(existsSync(join(outDir, file)), file).toBe(true);
    }
    expect(existsSync(join(outDir, 'node_modules'))).toBe(false);
  });

  it('runs JavaScript and TypeScript from the bundle', () => {
    expect(
      run({
        executionId: 'b-1',
        language: 'javascript',
        code: '[1, 2].map((x) => x * 21)[1]',
        limits: LIMITS,
      }),
    ).toMatch(/^RESULT .*"status":"succeeded".*"result":"42"/);
    expect(
      run({ executionId: 'b-2', language: 'typescript', code: 'const x: number = 42; x', limits: LIMITS }),
    ).toMatch(/^RESULT .*"status":"succeeded".*"result":"42"/);
  });

  it("bounds the TypeScript transform by the run's deadline, with the esbuild binary of the runtime folder", () => {
    const nested = `${'function f() {'.repeat(2000)}1${'}'.repeat(2000)}`;
    const out = run({
      executionId: 'b-5',
      language: 'typescript',
      code: nested,
      limits: { ...LIMITS, timeoutMs: 300, memoryMiB: 1024 },
    });
    expect(out).toMatch(/^RESULT .*"status":"timed_out"/);
    const runMs = Number(/"runMs":([\d.]+)/.exec(out)?.[1]);
    expect(runMs).toBeGreaterThanOrEqual(299);
  });

  it('runs Python from the bundle with the prebuilt snapshot', () => {
    expect(
      run({ executionId: 'b-3', language: 'python', code: 'sum(range(7)) * 2', limits: LIMITS }),
    ).toMatch(/^RESULT .*"status":"succeeded".*"result":"42"/);
  });

  it("carries a Python session's state from the bundle, its glue compiled into the prebuilt snapshot", () => {
    // Loaded before any job: the prebuilt snapshot holds it (a session call then compiles nothing).
    expect(
      run({
        executionId: 'b-6',
        language: 'python',
        code: "'_custody_state' in __import__('sys').modules",
        limits: LIMITS,
      }),
    ).toMatch(/^RESULT .*"result":"True"/);
    const first = run({
      executionId: 'b-7',
      language: 'python',
      code: 'kept = 41',
      limits: LIMITS,
      session: {},
    });
    const state = JSON.parse(first.replace(/^RESULT /, '')).state.carried;
    expect(
      run({ executionId: 'b-8', language: 'python', code: 'kept + 1', limits: LIMITS, session: { state } }),
    ).toMatch(/^RESULT .*"status":"succeeded".*"result":"42"/);
  });

  it('rejects an invalid event from the bundle', () => {
    expect(run({ executionId: 'b-4', language: 'cobol', code: '', limits: LIMITS })).toMatch(
      /ERROR invalid executor event: language/,
    );
  });
});
