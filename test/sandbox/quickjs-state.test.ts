/**
 * A session's state through the real QuickJS sandbox (#15): call 1's `state.carried` is fed to
 * call 2 as `session.state`, as the broker does.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { SandboxState } from '../../lambda/core/session.ts';
import type { Language, SandboxResult } from '../../lambda/core/types.ts';
import { QuickJsSandbox } from '../../lambda/sandbox/quickjs-sandbox.ts';
import { LIMITS, request } from './helpers.ts';

const sandbox = new QuickJsSandbox();
afterAll(() => sandbox.close());

const call = (code: string, state?: SandboxState, language: Language = 'javascript', limits = LIMITS) =>
  sandbox.run(request(language, code, { limits, session: state ? { state } : {} }));
const carried = (result: SandboxResult): SandboxState => {
  if (!result.state) throw new Error(`no state in ${JSON.stringify(result)}`);
  return result.state.carried;
};

describe('JavaScript state across the calls of a session', () => {
  it('carries data by value and functions and classes by source to the next call', async () => {
    const first = await call(`
      const rate = 0.25;
      let seen = new Map([['a', new Set([1, 2])]]);
      var when = new Date(86400000);
      const bytes = new Uint8Array([1, 2, 255]);
      const big = 2n ** 70n;
      function tax(amount) { return amount * rate; }
      const double = (x) => x * 2;
      class Ledger { constructor() { this.rows = []; } add(v) { this.rows.push(v); return this; } }
      const book = new Ledger().add(10);
      const loop = { name: 'loop' }; loop.self = loop;
      const table = { tax, special: [NaN, -0, undefined, Infinity] };
    `);
    expect(first.status).toBe('succeeded');
    expect(first.state?.dropped).toEqual([]);

    const second = await call(
      `[tax(100), double(21), book.add(5).rows, book instanceof Ledger, seen.get('a').has(2), when.getTime(),
        Array.from(bytes), String(big), loop.self === loop, table.tax === tax, Object.is(table.special[1], -0),
        Number.isNaN(table.special[0]), table.special[2] === undefined, table.special[3]]`,
      carried(first),
    );
    expect(second).toMatchObject({
      status: 'succeeded',
      result:
        '[25,42,[10,5],true,true,86400000,[1,2,255],"1180591620717411303424",true,true,true,true,true,null]',
    });
  });

  it('lets the next call declare a carried name again, and reach it from TypeScript', async () => {
    const first = await call('const total = 40;');
    const second = await call('let total = 41; total += 1; total', carried(first));
    expect(second).toMatchObject({ status: 'succeeded', result: '42' });
    const third = await call('const t: number = total; t + 1', carried(second), 'typescript');
    expect(third).toMatchObject({ status: 'succeeded', result: '43' });
  });

  it('names a closure, a symbol and a native function in dropped, and carries the rest', async () => {
    const first = await call(`
      function makeAdder(n) { return (x) => x + n; }
      const add5 = makeAdder(5);
      const tag = Symbol('t');
      const max = Math.max;
      const kept = 1;
    `);
    expect(first.state?.dropped.toSorted()).toEqual(['add5', 'max', 'tag']);
    const second = await call('[kept, makeAdder(1)(1)]', carried(first));
    expect(second).toMatchObject({ status: 'succeeded', result: '[1,2]' });
  });

  it('carries the working folder: files written, read back, removed and binary ones untouched', async () => {
    const binary = Buffer.from([0xff, 0x00, 0xfe]).toString('base64');
    const first = await call(
      "files.write('a.txt', 'one'); files.write('b.txt', 'two'); files.outputs().sort().join()",
      { files: { 'raw.bin': binary } },
    );
    expect(first).toMatchObject({ status: 'succeeded', result: '"a.txt,b.txt,raw.bin"' });
    expect(first.files).toEqual({ 'a.txt': 'one', 'b.txt': 'two' });

    const second = await call(
      "files.remove('b.txt'); files.write('a.txt', files.read('a.txt') + '+'); let e; try { files.read('raw.bin') } catch (x) { e = x.message } e",
      carried(first),
    );
    expect(second).toMatchObject({
      status: 'succeeded',
      result: '"file \\"raw.bin\\" is binary: it cannot be read as text"',
    });
    expect(second.files).toEqual({ 'a.txt': 'one+' });
    expect(carried(second).files).toEqual({
      'raw.bin': binary,
      'a.txt': Buffer.from('one+').toString('base64'),
    });
  });

  it('keeps what was defined before a failure, and the starting state after a timeout', async () => {
    const first = await call("var before = 1; throw new Error('boom'); var after = 2;");
    expect(first.status).toBe('failed');
    const stopped = await call('before = 5; for (;;) {}', carried(first), 'javascript', {
      ...LIMITS,
      timeoutMs: 300,
    });
    expect(stopped.status).toBe('timed_out');
    expect(stopped.state?.carried).toEqual(carried(first));
    expect(stopped.state?.dropped).toEqual([expect.stringMatching(/^\* \(it ended timed_out/)]);
    const after = await call('[before, typeof after]', stopped.state?.carried);
    expect(after).toMatchObject({ status: 'succeeded', result: '[1,"undefined"]' });
  });

  it('gives a call outside a session no state at all', async () => {
    const result = await sandbox.run(request('javascript', 'const x = 1; x'));
    expect(result).not.toHaveProperty('state');
  });
});
