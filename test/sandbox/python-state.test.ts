/**
 * A session's state through the real Python sandbox (#15): call 1's `state.carried` is fed to call
 * 2 as `session.state`, as the broker does, and call 2 finds what call 1 left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxState } from '../../lambda/core/session.ts';
import type { SandboxResult } from '../../lambda/core/types.ts';
import { PythonSandbox } from '../../lambda/sandbox/python-sandbox.ts';
import { resolveRuntimeFiles } from '../../lambda/sandbox/runtime-files.ts';
import { request } from './helpers.ts';

let sandbox: PythonSandbox;

beforeAll(async () => {
  sandbox = new PythonSandbox(resolveRuntimeFiles(), { prestartedProcesses: 1 });
  await sandbox.warmUp();
});

afterAll(() => sandbox.close());

const LIMITS = { timeoutMs: 20_000, memoryMiB: 128, maxOutputBytes: 4_096 };
const call = (code: string, state?: SandboxState, limits = LIMITS) =>
  sandbox.run(request('python', code, { limits, session: state ? { state } : {} }));
const carried = (result: SandboxResult): SandboxState => {
  if (!result.state) throw new Error(`no state in ${JSON.stringify(result)}`);
  return result.state.carried;
};

describe('Python state across the calls of a session', () => {
  it('carries a variable, a function, a class instance, a module and a file to the next call', async () => {
    const first = await call(
      [
        'import math',
        'rate = 0.25',
        'def tax(amount):',
        '    return round(amount * rate, 2)',
        'class Ledger:',
        '    def __init__(self):',
        '        self.rows = []',
        '    def add(self, value):',
        '        self.rows.append(value)',
        '        return self',
        'book = Ledger().add(10)',
        "open('notes.txt', 'w').write('kept')",
      ].join('\n'),
    );
    expect(first.status).toBe('succeeded');
    expect(first.state?.dropped).toEqual([]);
    expect(first.files).toEqual({ 'notes.txt': 'kept' });

    const second = await call(
      "print(tax(100), book.add(5).rows, isinstance(book, Ledger), math.floor(rate * 10), open('notes.txt').read())",
      carried(first),
    );
    expect(second).toMatchObject({ status: 'succeeded', stdout: '25.0 [10, 5] True 2 kept\n' });
    // The file the call did not change is carried, not listed again in the answer.
    expect(second.files).toEqual({});
    expect(Buffer.from(carried(second).files['notes.txt'] ?? '', 'base64').toString()).toBe('kept');

    // Call 2's change to the instance is what call 3 finds.
    const third = await call('book.rows', carried(second));
    expect(third).toMatchObject({ status: 'succeeded', result: '[10, 5]' });
  });

  it('names what cannot be carried in dropped, and carries the rest', async () => {
    const first = await call(
      [
        'kept = {"a": [1, 2]}',
        'gen = (i for i in range(3))',
        "handle = open('x.txt', 'w')",
        'fns = [lambda v: v]',
        '_private = 7',
        '__dunder__ = 1',
        'square = lambda v: v * v',
      ].join('\n'),
    );
    expect(first.state?.dropped.toSorted()).toEqual(['fns', 'gen', 'handle']);
    const second = await call('(kept, _private, square(4), "__dunder__" in globals())', carried(first));
    expect(second).toMatchObject({ status: 'succeeded', result: "({'a': [1, 2]}, 7, 16, False)" });
  });

  it('keeps what was defined before a failure, like a REPL', async () => {
    const first = await call('before = 1\nraise ValueError("boom")\nafter = 2');
    expect(first.status).toBe('failed');
    const second = await call("(before, 'after' in globals())", carried(first));
    expect(second).toMatchObject({ status: 'succeeded', result: '(1, False)' });
  });

  it('keeps the state it started from, unchanged, when a limit stops the call', async () => {
    const first = await call('value = 1');
    const stopped = await call('value = 2\nwhile True: pass', carried(first), {
      ...LIMITS,
      timeoutMs: 1_500,
    });
    expect(stopped.status).toBe('timed_out');
    expect(stopped.state?.carried).toEqual(carried(first));
    expect(stopped.state?.dropped).toEqual([expect.stringMatching(/^\* \(it ended timed_out/)]);
    const after = await call('value', stopped.state?.carried);
    expect(after).toMatchObject({ status: 'succeeded', result: '1' });
  });

  it('gives a call outside a session no state at all', async () => {
    const result = await sandbox.run(request('python', 'x = 1', { limits: LIMITS }));
    expect(result.status).toBe('succeeded');
    expect(result).not.toHaveProperty('state');
  });
});
