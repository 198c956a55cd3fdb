/**
 * Tearing down an execution's engine is silent: a run the deadline stopped with promise jobs still
 * queued must not make QuickJS abort on `JS_FreeRuntime` (the engine prints `Aborted(Assertion
 * failed: list_empty(&rt->gc_obj_list)…)` through console.error when it does).
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { QuickJsSandbox } from '../../lambda/sandbox/quickjs-sandbox.ts';
import { expectStillWorks, LIMITS, request } from './helpers.ts';

// Spied before any engine exists: each instance binds console.error as its stderr when it is made.
const engineErrors = vi.spyOn(console, 'error');
const sandbox = new QuickJsSandbox();
afterAll(async () => {
  await sandbox.close();
  engineErrors.mockRestore();
});

const limits = { ...LIMITS, timeoutMs: 300 };

describe('QuickJS engine teardown', () => {
  it.each([
    ['a promise job that loops forever', 'Promise.resolve().then(() => { for (;;) {} }); 1'],
    ['a job queue that never drains', 'const spin = () => Promise.resolve().then(spin); spin(); 2'],
    ['an infinite promise chain', 'let p = Promise.resolve(); for (;;) p = p.then(() => 0);'],
  ])('stops %s at the deadline without the engine aborting', async (_case, code) => {
    engineErrors.mockClear();
    const result = await sandbox.run(request('javascript', code, { limits }));
    expect(result.status).toBe('timed_out');
    await expectStillWorks(sandbox, 'javascript');
    expect(engineErrors.mock.calls.flat().join('\n')).not.toMatch(/Aborted|Assertion failed/);
  });

  it('finishes a run that allocated many objects inside a promise job without the engine aborting', async () => {
    engineErrors.mockClear();
    const code =
      'let n = 0; Promise.resolve().then(() => { const a = []; for (let i = 0; i < 200000; i++) a.push({ i }); n = a.length; }); 1';
    for (let i = 0; i < 3; i++) {
      const result = await sandbox.run(request('javascript', code));
      expect(result.status).toBe('succeeded');
    }
    expect(engineErrors.mock.calls.flat().join('\n')).not.toMatch(/Aborted|Assertion failed/);
  });
});
