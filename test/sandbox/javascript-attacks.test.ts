/**
 * Hostile JavaScript and TypeScript against the QuickJS sandbox. Each case asserts the boundary
 * held and that the next execution still works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxResult } from '../../lambda/core/types.ts';
import { QuickJsSandbox } from '../../lambda/sandbox/quickjs-sandbox.ts';
import { type Canaries, expectStillWorks, hostFileExists, LIMITS, makeCanaries, request } from './helpers.ts';

let sandbox: QuickJsSandbox;
let canaries: Canaries;

beforeAll(async () => {
  sandbox = new QuickJsSandbox();
  canaries = await makeCanaries();
});

afterAll(async () => {
  await sandbox.close();
  await canaries.dispose();
});

const js = (code: string, extra = {}) => sandbox.run(request('javascript', code, extra));
const resultOf = (r: SandboxResult) => (r.status === 'succeeded' ? r.result : undefined);

describe('QuickJS sandbox under attack', () => {
  it('does not expose the host environment', async () => {
    const result = await js(
      `JSON.stringify([typeof process.env.${canaries.envName}, Object.keys(process.env), typeof require, typeof Deno])`,
    );
    expect(resultOf(result)).toBe(
      JSON.stringify(JSON.stringify(['undefined', [], 'undefined', 'undefined'])),
    );
    expect(canaries.leakedInto(result)).toBe(false);
    await expectStillWorks(sandbox, 'javascript');
  });

  it('cannot read a host file by any name', async () => {
    const result = await js(`
      const tries = [];
      for (const attempt of [
        () => files.read(${JSON.stringify(canaries.readablePath)}),
        () => files.read('../../../../../../${canaries.readablePath}'),
        () => require('fs').readFileSync(${JSON.stringify(canaries.readablePath)}, 'utf8'),
        () => std.loadFile(${JSON.stringify(canaries.readablePath)}),
      ]) { try { tries.push(String(attempt())); } catch (e) { tries.push(e.name); } }
      tries.join(',')`);
    expect(resultOf(result)).toBe('"Error,Error,ReferenceError,ReferenceError"');
    expect(canaries.leakedInto(result)).toBe(false);
    await expectStillWorks(sandbox, 'javascript');
  });

  it('cannot write a host file, not even through an output name that climbs out', async () => {
    const result = await js(`files.write('../../../../../..${canaries.writablePath}', 'pwned')`);
    expect(result.status).toBe('failed');
    expect(hostFileExists(canaries.writablePath)).toBe(false);
    expect(result.files).toEqual({});
    await expectStillWorks(sandbox, 'javascript');
  });

  it('has no way to open a socket to a loopback listener', async () => {
    const result = await js(`
      const found = ['fetch', 'XMLHttpRequest', 'WebSocket', 'net', 'os', 'std'].filter((n) => typeof globalThis[n] !== 'undefined');
      import('node:net').then(() => 'imported', (e) => 'import refused: ' + e.name).then((s) => found.concat(s).join(','))`);
    expect(resultOf(result)).toMatch(/^"import refused/);
    expect(canaries.connections()).toBe(0);
    await expectStillWorks(sandbox, 'javascript');
  });

  it('cannot resolve a name (no DNS API, no module loader)', async () => {
    const result = await js(`import('node:dns').then((m) => m.lookup('localhost'), (e) => e.name)`);
    expect(resultOf(result)).not.toBe(undefined);
    expect(resultOf(result)).not.toContain('127.0.0.1');
    expect(canaries.connections()).toBe(0);
    await expectStillWorks(sandbox, 'javascript');
  });

  it('cannot spawn a process', async () => {
    const result = await js(`
      let outcome;
      try { outcome = require('child_process').execSync('id').toString(); } catch (e) { outcome = e.name; }
      try { outcome += ' ' + os.exec(['id']); } catch (e) { outcome += ' ' + e.name; }
      outcome`);
    expect(resultOf(result)).toBe('"ReferenceError ReferenceError"');
    await expectStillWorks(sandbox, 'javascript');
  });

  it('cannot start a worker', async () => {
    const result = await js(
      `[typeof Worker, typeof SharedArrayBuffer === 'function' ? 'sab' : 'nosab', typeof setTimeout].join(',')`,
    );
    expect(resultOf(result)).toMatch(/^"undefined,/);
    expect(resultOf(result)).toMatch(/undefined"$/);
    await expectStillWorks(sandbox, 'javascript');
  });

  it('finds only the sandbox realm through the Function constructor', async () => {
    const result = await js(`
      const g1 = Function('return this')();
      const g2 = this.constructor.constructor('return globalThis')();
      const g3 = (() => {}).constructor('return this')();
      const g4 = Object.getPrototypeOf(async function () {}).constructor('return globalThis');
      [g1 === globalThis, g2 === globalThis, g3 === globalThis, typeof g4,
       Object.getOwnPropertyNames(globalThis).filter((n) => /^(require|module|Buffer|Deno|global|process)$/.test(n)).join('|'),
       JSON.stringify(process)].join(' ')`);
    expect(resultOf(result)).toBe(JSON.stringify('true true true function process {"env":{}}'));
    await expectStillWorks(sandbox, 'javascript');
  });

  it('stops an infinite loop at the deadline, even one that catches the interrupt', async () => {
    const result = await sandbox.run(
      request('javascript', 'for (;;) { try { for (;;) {} } catch (e) {} }', {
        limits: { ...LIMITS, timeoutMs: 300 },
      }),
    );
    expect(result.status).toBe('timed_out');
    await expectStillWorks(sandbox, 'javascript');
  });

  it('stops an infinite promise chain at the deadline', async () => {
    const result = await sandbox.run(
      request('javascript', 'const spin = () => Promise.resolve().then(spin); spin(); "started"', {
        limits: { ...LIMITS, timeoutMs: 300 },
      }),
    );
    expect(result.status).toBe('timed_out');
    await expectStillWorks(sandbox, 'javascript');
  });

  it('reports unbounded allocation as out_of_memory and keeps the executor alive', async () => {
    const result = await js('const hoard = []; for (;;) hoard.push(new Uint8Array(1 << 20));');
    expect(result.status).toBe('out_of_memory');
    const single = await js('new ArrayBuffer(1_000_000_000).byteLength');
    expect(single.status).toBe('out_of_memory');
    await expectStillWorks(sandbox, 'javascript');
  });

  it('caps an output flood and marks it truncated', async () => {
    const result = await js('for (;;) console.log("flood ".repeat(100))');
    expect(result.status).toBe('output_limit');
    expect(result.stdoutTruncated).toBe(true);
    expect(Buffer.byteLength(result.stdout)).toBeLessThanOrEqual(LIMITS.maxOutputBytes);
    await expectStillWorks(sandbox, 'javascript');
  });

  it('turns deep recursion into an error of the code', async () => {
    for (const code of [
      'function down(n) { return down(n + 1) + 1 } down(0)',
      'function wide(n) { return [1].map(() => wide(n + 1)) } wide(0)',
      'JSON.parse("[".repeat(100000) + "]".repeat(100000))',
    ]) {
      const result = await js(code);
      expect(result.status).toBe('failed');
      await expectStillWorks(sandbox, 'javascript');
    }
  });

  it('bounds a huge BigInt by time or memory', async () => {
    const result = await sandbox.run(
      request('javascript', '(10n ** 100000000n).toString().length', {
        limits: { ...LIMITS, timeoutMs: 1_000 },
      }),
    );
    expect(['timed_out', 'out_of_memory', 'failed']).toContain(result.status);
    await expectStillWorks(sandbox, 'javascript');
  });

  it('leaves no global, prototype change, file or pending job to the next execution', async () => {
    await js(`
      globalThis.leak = 'left';
      Object.prototype.polluted = 'yes';
      Array.prototype.push = () => 0;
      files.write('left.txt', 'behind');
      Promise.resolve().then(() => { globalThis.late = 1 });
      new Promise(() => {});`);
    const next = await js(
      `[typeof leak, ({}).polluted, [].push(1), typeof late, files.list().length].join(',')`,
    );
    expect(resultOf(next)).toBe('"undefined,,1,undefined,0"');
    expect(next.files).toEqual({});
  });

  it('does not show one execution its secret variables to the next', async () => {
    const first = await js('process.env.API_TOKEN', { env: { API_TOKEN: 'tenant-a-secret' } });
    expect(resultOf(first)).toBe('"tenant-a-secret"');
    const second = await js('JSON.stringify(process.env)');
    expect(resultOf(second)).toBe(JSON.stringify('{}'));
    expect(JSON.stringify(second)).not.toContain('tenant-a-secret');
  });

  it('gives TypeScript no more than JavaScript gets', async () => {
    const result = await sandbox.run(
      request(
        'typescript',
        `declare const require: (m: string) => { readFileSync(p: string): string };
        let out: string;
        try { out = require('fs').readFileSync(${JSON.stringify(canaries.readablePath)}); } catch (e) { out = (e as Error).name; }
        out`,
      ),
    );
    expect(resultOf(result)).toBe('"ReferenceError"');
    expect(canaries.leakedInto(result)).toBe(false);
    await expectStillWorks(sandbox, 'typescript');
  });
});
