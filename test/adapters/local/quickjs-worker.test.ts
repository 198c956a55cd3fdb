/**
 * The local server's JavaScript worker: the real sandbox in a worker thread, and what happens when
 * the worker fails, exits or stops answering (stand-in workers).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsWorker } from '../../../lambda/adapters/local/quickjs-worker.ts';
import { DependencyError } from '../../../lambda/core/errors.ts';
import { LIMITS, request } from '../../sandbox/helpers.ts';
import { esbuildChildren } from '../../support/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'custody-js-worker-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in worker: answers with its thread id, or hangs, throws or exits when the code says so. */
const standIn = join(dir, 'stand-in.mjs');
writeFileSync(
  standIn,
  `import { parentPort, threadId } from 'node:worker_threads';
const succeeded = (id, stdout) => ({ id, result: { status: 'succeeded', stdout, stderr: '', stdoutTruncated: false, stderrTruncated: false, files: {}, filesTruncated: false, timings: { startMs: 0, runMs: 0 } } });
parentPort.on('message', ({ id, request }) => {
  if (request.code === 'hang') return;
  if (request.code === 'slow') return setTimeout(() => parentPort.postMessage(succeeded(id, 'slow')), 150);
  if (request.code === 'throw') throw new Error('stand-in threw');
  if (request.code === 'exit') process.exit(3);
  if (request.code === 'error') return parentPort.postMessage({ id, error: 'the engine could not start' });
  parentPort.postMessage(succeeded(id, String(threadId)));
});
`,
);

describe('QuickJsWorker with the real sandbox', () => {
  const worker = new QuickJsWorker();
  afterAll(() => worker.close());

  it('runs JavaScript and TypeScript, each execution in a fresh engine', async () => {
    const js = await worker.run(request('javascript', 'globalThis.leak = "x"; console.log(6 * 7)'));
    expect(js).toMatchObject({ status: 'succeeded', stdout: '42\n' });
    const ts = await worker.run(
      request('typescript', 'const n: number = typeof leak === "undefined" ? 1 : 0; n'),
    );
    expect(ts).toMatchObject({ status: 'succeeded', result: '1' });
  });

  it("carries a session's state through the worker thread, also past a TypeScript syntax error", async () => {
    const first = await worker.run({ ...request('javascript', 'const total = 41;'), session: {} });
    const state = first.state?.carried;
    expect(state?.javascript).toContain('total');
    const broken = await worker.run({ ...request('typescript', 'const x: = 1'), session: { state } });
    expect(broken.status).toBe('failed');
    expect(broken.state?.carried).toEqual(state);
    const second = await worker.run({
      ...request('typescript', 'const n: number = total + 1; n'),
      session: { state: broken.state?.carried },
    });
    expect(second).toMatchObject({ status: 'succeeded', result: '42' });
  });

  it('answers concurrent executions, each with its own output', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => worker.run(request('javascript', `console.log("run", ${i})`))),
    );
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 6 }, (_, i) => `run ${i}\n`));
  });

  it('serves a trivial run on a second worker while the first runs a busy loop', async () => {
    const busy = worker.run({
      ...request('javascript', 'for (;;) {}'),
      limits: { ...LIMITS, timeoutMs: 3_000 },
    });
    const started = performance.now();
    const trivial = await worker.run(request('javascript', '1 + 1'));
    const waitedMs = performance.now() - started;
    expect(trivial).toMatchObject({ status: 'succeeded', result: '2' });
    expect(waitedMs).toBeLessThan(2_000);
    expect((await busy).status).toBe('timed_out');
  });

  it('leaves no esbuild process, live or zombie, when closed during a TypeScript transform', async () => {
    // Processes another test file left in this test process are not this test's.
    const before = new Set(esbuildChildren().map((child) => child.pid));
    const own = new QuickJsWorker();
    const nested = `${'function f() {'.repeat(2000)}1${'}'.repeat(2000)}`;
    const run = own
      .run({ ...request('typescript', nested), limits: { ...LIMITS, timeoutMs: 300 } })
      .catch((error: unknown) => error);
    await own.close();
    await run;
    expect(esbuildChildren().filter((child) => !before.has(child.pid) || child.state === 'Z')).toEqual([]);
  });

  it('stops code at its deadline inside the worker and goes on serving', async () => {
    const spin = await worker.run({
      ...request('javascript', 'for (;;) {}'),
      limits: { ...LIMITS, timeoutMs: 200 },
    });
    expect(spin.status).toBe('timed_out');
    expect(await worker.run(request('javascript', '"after"'))).toMatchObject({
      status: 'succeeded',
      result: '"after"',
    });
  });
});

describe('QuickJsWorker when its worker misbehaves', () => {
  const make = () => new QuickJsWorker({ entry: pathToFileURL(standIn), hangGraceMs: 100, threads: 1 });
  /** Runs `test` against a fresh stand-in worker, and closes it whatever happens. */
  const withStandIn = async (test: (worker: QuickJsWorker) => Promise<void>) => {
    const worker = make();
    try {
      await test(worker);
    } finally {
      await worker.close();
    }
  };
  const limits = { ...LIMITS, timeoutMs: 100 };

  it('fails only the execution a hung worker was running; the one waiting runs in a new worker', () =>
    withStandIn(async (worker) => {
      const first = (await worker.run(request('javascript', 'ok'))).stdout;
      const hung = worker.run({ ...request('javascript', 'hang'), limits });
      const queued = worker.run({ ...request('javascript', 'ok'), limits });
      await expect(hung).rejects.toThrow(/answered nothing for 200 ms/);
      const replacement = (await queued).stdout;
      expect(replacement).not.toBe(first);
      expect((await worker.run(request('javascript', 'ok'))).stdout).toBe(replacement);
    }));

  it('gives queued executions their turn: each has its own deadline from when it starts', () =>
    withStandIn(async (worker) => {
      // Five answers 150 ms apart: 750 ms in all, against 400 ms (300 + 100) one execution may take.
      const slowLimits = { ...LIMITS, timeoutMs: 300 };
      const results = await Promise.all(
        Array.from({ length: 5 }, () => worker.run({ ...request('javascript', 'slow'), limits: slowLimits })),
      );
      expect(results.map((r) => r.stdout)).toEqual(['slow', 'slow', 'slow', 'slow', 'slow']);
    }));

  it.each([
    ['throws', 'throw', /JavaScript worker failed: stand-in threw/],
    ['exits', 'exit', /JavaScript worker exited \(code 3\)/],
  ])('fails the execution when the worker %s, then starts a new one', (_what, code, message) =>
    withStandIn(async (worker) => {
      const first = (await worker.run(request('javascript', 'ok'))).stdout;
      await expect(worker.run({ ...request('javascript', code), limits })).rejects.toThrow(message);
      const next = (await worker.run(request('javascript', 'ok'))).stdout;
      expect(next).not.toBe(first);
    }),
  );

  it('turns a failure the sandbox reports from inside the worker into an executor error', () =>
    withStandIn(async (worker) => {
      const failed = worker.run(request('javascript', 'error'));
      await expect(failed).rejects.toBeInstanceOf(DependencyError);
      await expect(failed).rejects.toThrow('the JavaScript sandbox failed: the engine could not start');
      expect(await worker.run(request('javascript', 'ok'))).toMatchObject({ status: 'succeeded' });
    }));

  it('fails what is waiting when closed, and refuses runs after', async () => {
    const worker = make();
    const waiting = worker
      .run({ ...request('javascript', 'hang'), limits: { ...limits, timeoutMs: 60_000 } })
      .catch((error: unknown) => error); // settled by close(), before the assertions below
    await worker.close();
    expect(await waiting).toBeInstanceOf(DependencyError);
    expect(String(await waiting)).toMatch(/was closed/);
    await expect(worker.run(request('javascript', 'ok'))).rejects.toBeInstanceOf(DependencyError);
  });
});
