/**
 * Status truth in the QuickJS sandbox: whatever reaches the deadline is `timed_out`, and all user
 * code — the script, promise jobs, and the conversion of its last value (toJSON, getters,
 * toString) — runs inside the clock and counts in `runMs`.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../../lambda/sandbox/quickjs-sandbox.ts';
import { expectStillWorks, LIMITS, request } from './helpers.ts';

const sandbox = new QuickJsSandbox();
afterAll(() => sandbox.close());

const TIMEOUT_MS = 300;
const limits = { ...LIMITS, timeoutMs: TIMEOUT_MS };
const run = (code: string) => sandbox.run(request('javascript', code, { limits }));

describe('QuickJS status truth', () => {
  it.each([
    [
      'a promise job that never ends after a value is ready',
      'Promise.resolve().then(() => { for (;;) {} }); 1',
    ],
    [
      'an async function that loops after its first await',
      'async function f() { await null; for (;;) {} } f(); 2',
    ],
    ['a job queue that never drains', 'const spin = () => Promise.resolve().then(spin); spin(); 3'],
    ['a toJSON on the last value that never returns', '({ toJSON() { for (;;) {} } })'],
    ['a getter on the last value that never returns', '({ get a() { for (;;) {} } })'],
    ['a nested getter reached only by the conversion', '({ inner: [{ get deep() { for (;;) {} } }] })'],
    [
      'a toString reached when the value cannot be turned into JSON',
      'const o = { toString() { for (;;) {} } }; o.self = o; o',
    ],
  ])('reports %s as timed_out, with the time it took', async (_case, code) => {
    const result = await run(code);
    expect(result.status).toBe('timed_out');
    expect(result.timings.runMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    await expectStillWorks(sandbox, 'javascript');
  });

  it.each([
    ['a toJSON', '({ toJSON() { const t = Date.now(); while (Date.now() - t < 100); return 5; } })', '5'],
    [
      'a getter',
      '({ get a() { const t = Date.now(); while (Date.now() - t < 100); return 1; } })',
      JSON.stringify({ a: 1 }),
    ],
    [
      'a toString',
      'const o = { toString() { const t = Date.now(); while (Date.now() - t < 100); return "s"; } }; o.self = o; o',
      's',
    ],
  ])('counts the time of %s on the last value in runMs', async (_case, code, rendered) => {
    const result = await run(code);
    expect(result.status).toBe('succeeded');
    expect(result.status === 'succeeded' ? result.result : undefined).toBe(rendered);
    expect(result.timings.runMs).toBeGreaterThanOrEqual(95);
  });

  it('counts promise jobs that finish in time in runMs and still succeeds', async () => {
    const result = await run(
      'Promise.resolve().then(() => { const t = Date.now(); while (Date.now() - t < 100); }); 7',
    );
    expect(result.status).toBe('succeeded');
    expect(result.status === 'succeeded' ? result.result : undefined).toBe('7');
    expect(result.timings.runMs).toBeGreaterThanOrEqual(95);
  });
});
