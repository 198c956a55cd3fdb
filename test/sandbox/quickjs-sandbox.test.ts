/** What JavaScript and TypeScript code gets from the QuickJS sandbox when it behaves. */
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../../lambda/sandbox/quickjs-sandbox.ts';
import { LIMITS, request } from './helpers.ts';

const sandbox = new QuickJsSandbox();
afterAll(() => sandbox.close());

describe('QuickJS sandbox', () => {
  it('captures stdout and stderr and returns the last expression', async () => {
    const result = await sandbox.run(
      request('javascript', 'console.log("out", 1, { a: [2] }); console.error("err"); ({ total: 3 })'),
    );
    expect(result).toMatchObject({
      status: 'succeeded',
      stdout: 'out 1 {"a":[2]}\n',
      stderr: 'err\n',
      result: '{"total":3}',
      stdoutTruncated: false,
    });
  });

  it('awaits a returned promise', async () => {
    const result = await sandbox.run(request('javascript', '(async () => { await null; return "done" })()'));
    expect(result).toMatchObject({ status: 'succeeded', result: '"done"' });
  });

  it('reports a thrown error with a traceback of the user code only', async () => {
    const result = await sandbox.run(request('javascript', 'function parse() {\n  null.field;\n}\nparse();'));
    expect(result.status).toBe('failed');
    if (result.status !== 'failed') return;
    expect(result.error.name).toBe('TypeError');
    expect(result.error.traceback).toContain('at parse (main.js:2');
    expect(result.error.traceback).not.toContain('prelude');
  });

  it('runs TypeScript with its types stripped', async () => {
    const result = await sandbox.run(
      request(
        'typescript',
        'interface P { x: number }\nconst p: P = { x: 20 };\nenum E { A = 1 }\np.x * 2 + E.A as number',
      ),
    );
    expect(result).toMatchObject({ status: 'succeeded', result: '41' });
  });

  it('reports a TypeScript syntax error as a failure of the code', async () => {
    const result = await sandbox.run(request('typescript', 'const x: = 1'));
    expect(result.status).toBe('failed');
    if (result.status === 'failed') expect(result.error.traceback).toMatch(/^main\.ts:1:/);
  });

  it('reads input files and returns the files the code wrote', async () => {
    const result = await sandbox.run(
      request(
        'javascript',
        'files.write("report/upper.txt", files.read("in.txt").toUpperCase()); files.list()',
        {
          files: { 'in.txt': 'hello' },
        },
      ),
    );
    expect(result).toMatchObject({
      status: 'succeeded',
      result: '["in.txt"]',
      files: { 'report/upper.txt': 'HELLO' },
      filesTruncated: false,
    });
  });

  it('refuses output files beyond the byte cap and says so', async () => {
    const result = await sandbox.run(
      request('javascript', 'try { files.write("big.txt", "x".repeat(10000)) } catch (e) { e.message }', {
        limits: { ...LIMITS, maxOutputBytes: 1000 },
      }),
    );
    expect(result.status).toBe('succeeded');
    expect(result.files).toEqual({});
    expect(result.filesTruncated).toBe(true);
  });

  it('exposes the variables of this execution as process.env', async () => {
    const result = await sandbox.run(
      request('javascript', 'process.env.REGION', { env: { REGION: 'eu-west-1' } }),
    );
    expect(result).toMatchObject({ status: 'succeeded', result: '"eu-west-1"' });
  });

  it('reports no result for code whose last value is undefined', async () => {
    const result = await sandbox.run(request('javascript', 'let x = 1;'));
    expect(result.status).toBe('succeeded');
    expect(result.status === 'succeeded' && 'result' in result).toBe(false);
  });

  it('honours a smaller memory limit than the default', async () => {
    const small = await sandbox.run(
      request('javascript', 'new Uint8Array(16 * 1024 * 1024).length', {
        limits: { ...LIMITS, memoryMiB: 8 },
      }),
    );
    const large = await sandbox.run(
      request('javascript', 'new Uint8Array(16 * 1024 * 1024).length', {
        limits: { ...LIMITS, memoryMiB: 64 },
      }),
    );
    expect(small.status).toBe('out_of_memory');
    expect(large).toMatchObject({ status: 'succeeded', result: '16777216' });
  });

  it('serves concurrent executions, each in its own engine', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        sandbox.run(request('javascript', `globalThis.mine = ${i}; mine`, { env: { I: String(i) } })),
      ),
    );
    expect(results.map((r) => (r.status === 'succeeded' ? r.result : r.status))).toEqual(
      Array.from({ length: 8 }, (_, i) => String(i)),
    );
  });
});
