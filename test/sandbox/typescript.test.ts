/**
 * The TypeScript transform runs inside the run's limits, in an esbuild process of its own that is
 * killed at the deadline, past the memory limit, or past the output bound.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../../lambda/sandbox/quickjs-sandbox.ts';
import { maxTransformOutputBytes, transformTypeScript } from '../../lambda/sandbox/typescript.ts';
import { esbuildChildren } from '../support/processes.ts';
import { LIMITS, request } from './helpers.ts';

const MiB = 1024 * 1024;
/** 8,192 nested blocks: esbuild re-indents them into 134 MB of output, using about 1 GB. */
const BRACES = `${'{'.repeat(8192)}${'}'.repeat(8192)}`;
/** 2,000 nested functions: seconds of esbuild CPU. */
const NESTED_FUNCTIONS = `${Array.from({ length: 2000 }, (_, i) => `function f${i}() {`).join('')}1${'}'.repeat(2000)}`;

/** The killed process is gone and reaped: what is left is the one started ahead, waiting. */
function expectOnlyTheSpare() {
  const left = esbuildChildren();
  expect(left.filter((child) => child.state === 'Z')).toEqual([]);
  expect(left.filter((child) => child.state !== 'S')).toEqual([]);
}

const sandbox = new QuickJsSandbox();
afterAll(() => sandbox.close());

const ROOT_DIR = join(import.meta.dirname, '../..');

describe('TypeScript transform', () => {
  it('strips types in a process of its own and reports how long it took', async () => {
    const result = await transformTypeScript('const n: number = 1; enum E { A }\nn', {
      timeoutMs: 5_000,
      memoryBytes: 256 * MiB,
    });
    expect(result.ok).toBe(true);
    expect(result.ok ? result.code : '').toContain('const n = 1;');
    expect(result.elapsedMs).toBeGreaterThan(0);
  });

  it('reports a syntax error with its location as a failure of the code', async () => {
    const result = await transformTypeScript('let x: number = ;', {
      timeoutMs: 5_000,
      memoryBytes: 256 * MiB,
    });
    expect(result).toMatchObject({
      ok: false,
      status: 'failed',
      error: { name: 'SyntaxError', message: 'Unexpected ";"', traceback: 'main.ts:1:16: Unexpected ";"' },
    });
  });

  it('kills a transform at the deadline and leaves no esbuild process behind', async () => {
    const started = performance.now();
    const result = await transformTypeScript(NESTED_FUNCTIONS, { timeoutMs: 200, memoryBytes: 1024 * MiB });
    expect(result).toMatchObject({ ok: false, status: 'timed_out' });
    expect(result.elapsedMs).toBeGreaterThanOrEqual(199);
    expect(performance.now() - started).toBeLessThan(2_000);
    expectOnlyTheSpare();
  });

  it('kills a transform whose memory passes the limit', async () => {
    const result = await transformTypeScript(BRACES, { timeoutMs: 30_000, memoryBytes: 256 * MiB });
    expect(result).toMatchObject({
      ok: false,
      status: 'out_of_memory',
      error: { message: `the TypeScript transform used more than ${256 * MiB} bytes` },
    });
    expectOnlyTheSpare();
  });

  it('stops a transform whose output passes four times the source plus 64 KiB', async () => {
    const result = await transformTypeScript(NESTED_FUNCTIONS, {
      timeoutMs: 60_000,
      memoryBytes: 4096 * MiB,
    });
    expect(result).toMatchObject({
      ok: false,
      status: 'out_of_memory',
      error: {
        message: expect.stringContaining(`exceeds ${maxTransformOutputBytes(NESTED_FUNCTIONS)} bytes`),
      },
    });
  }, 70_000);

  it('gives the run what the transform spent: a slow transform times out the run, in runMs', async () => {
    const result = await sandbox.run(
      request('typescript', NESTED_FUNCTIONS, { limits: { ...LIMITS, timeoutMs: 300, memoryMiB: 1024 } }),
    );
    expect(result.status).toBe('timed_out');
    expect(result.timings.runMs).toBeGreaterThanOrEqual(299);
  });

  it('takes time already spent from the deadline of the code and counts it in runMs', async () => {
    const limits = { ...LIMITS, timeoutMs: 5_000 };
    const started = performance.now();
    const result = await sandbox.run(request('javascript', 'for (;;) {}', { limits }), 4_800);
    expect(result.status).toBe('timed_out');
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(result.timings.runMs).toBeGreaterThanOrEqual(4_999);
  });

  it('leaves no esbuild process, live or zombie, once the sandbox is closed', async () => {
    const before = new Set(esbuildChildren().map((child) => child.pid));
    await transformTypeScript('1', { timeoutMs: 5_000, memoryBytes: 256 * MiB });
    // The next transform's process is started right after this one ends (setImmediate).
    await new Promise((resolve) => setImmediate(resolve));
    const started = esbuildChildren().filter((child) => !before.has(child.pid));
    expect(started).toHaveLength(1);
    await new QuickJsSandbox().close();
    expect(esbuildChildren().filter((child) => !before.has(child.pid) || child.state === 'Z')).toEqual([]);
  });

  it('reports a transform over the memory limit as the run being out of memory', async () => {
    const result = await sandbox.run(
      request('typescript', BRACES, { limits: { ...LIMITS, timeoutMs: 30_000, memoryMiB: 256 } }),
    );
    expect(result.status).toBe('out_of_memory');
  });
});

describe('the spare esbuild process at close', () => {
  it('lets a process whose last work is closing the sandbox settle that close and exit 0', () => {
    // The spare waits unref'd; a close must hold the loop until it is reaped, or Node ends first
    // (exit 13: a top-level await never settled). The bench ended like that, silently.
    const dir = mkdtempSync(join(tmpdir(), 'custody-ts-close-'));
    try {
      const script = join(dir, 'close.mts');
      const sandbox = pathToFileURL(join(ROOT_DIR, 'lambda/sandbox/quickjs-sandbox.ts')).href;
      writeFileSync(
        script,
        [
          `import { QuickJsSandbox } from ${JSON.stringify(sandbox)};`,
          'const limits = { timeoutMs: 10000, memoryMiB: 64, maxOutputBytes: 10000 };',
          'const first = new QuickJsSandbox();',
          "await first.run({ executionId: 'a', language: 'javascript', code: '1', limits });",
          'await first.close();',
          'const second = new QuickJsSandbox();',
          "await second.run({ executionId: 'b', language: 'typescript', code: 'const n: number = 1', limits });",
          'await second.close();',
          "process.stdout.write('closed');",
        ].join('\n'),
      );
      const run = spawnSync(join(ROOT_DIR, 'node_modules/.bin/tsx'), [script], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect({ status: run.status, stdout: run.stdout }).toEqual({ status: 0, stdout: 'closed' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
