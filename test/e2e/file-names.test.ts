/**
 * Issue #12, class 6: files named like what every object inherits (`constructor`, `toString`,
 * `hasOwnProperty`) or like its prototype setter (`__proto__`) are ordinary files, end to end through
 * the real local API: read as inputs, written as outputs, returned, sealed, hashed and audited, in
 * JavaScript and in Python. Before, an output `constructor` failed the run with a 503 counted as a
 * dependency failure, and `__proto__` vanished.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../client/cli/exit-codes.ts';
import { runCli } from '../support/cli.ts';
import { sdkSigned, startTestServer, type TestServer } from './support.ts';

const NAMES = ['constructor', 'toString', '__proto__', 'hasOwnProperty'] as const;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

interface RunBody {
  executionId: string;
  status: string;
  stdout: string;
  stderr: string;
  files?: Record<string, string>;
  error?: { message: string };
}

async function run(language: string, code: string, files: Record<string, string> = {}) {
  // Built as JSON text: a `__proto__` key in an object literal would set the prototype instead.
  const filesJson = `{${Object.entries(files)
    .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)
    .join(',')}}`;
  const body = `{"profile":"sandbox","language":${JSON.stringify(language)},"code":${JSON.stringify(code)},"files":${filesJson}}`;
  const res = await sdkSigned({ identity: t.identity('agent'), url: `${t.server.url}/v1/executions`, body });
  return { status: res.status, body: JSON.parse(res.body) as RunBody & { error?: { code: string } } };
}

const inputs = Object.fromEntries(NAMES.map((n) => [n, `content of ${n}`]));

function expectEveryName(files: Record<string, string> | undefined) {
  expect(files).toBeDefined();
  expect(Object.keys(files ?? {}).sort()).toEqual([...NAMES].sort());
  for (const name of NAMES) {
    expect(Object.hasOwn(files ?? {}, name), name).toBe(true);
    expect(Object.getOwnPropertyDescriptor(files, name)?.value).toBe(`out:content of ${name}`);
  }
}

describe('files named like Object.prototype members', () => {
  it('JavaScript reads and writes them as ordinary files', async () => {
    const code = [
      'const names = files.list().sort();',
      'for (const name of names) files.write(name, "out:" + files.read(name));',
      'console.log(names.join(","));',
    ].join('\n');
    const { status, body } = await run('javascript', code, inputs);
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.status, JSON.stringify(body)).toBe('succeeded');
    expect(body.stdout).toBe(`${[...NAMES].sort().join(',')}\n`);
    expectEveryName(body.files);
    const records = await t.server.auditStore.get(body.executionId);
    expect(records.map((r) => [...(r.request.fileNames ?? [])].sort())).toEqual([
      [...NAMES].sort(),
      [...NAMES].sort(),
    ]);
  });

  it.each(NAMES)('JavaScript writes an output named %s without an input of that name', async (name) => {
    const { status, body } = await run(
      'javascript',
      `files.write(${JSON.stringify(name)}, "out:content of ${name}")`,
    );
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.status).toBe('succeeded');
    expect(Object.getOwnPropertyDescriptor(body.files, name)?.value).toBe(`out:content of ${name}`);
  });

  it('JavaScript gets a clear error for an input that does not exist, even one named constructor', async () => {
    const { status, body } = await run('javascript', 'files.read("constructor")');
    expect(status).toBe(200);
    expect(body.status).toBe('failed');
    expect(body.error?.message).toBe('no input file named "constructor"');
  });

  it('Python reads and writes them as ordinary files', async () => {
    const code = [
      'import os',
      'names = sorted(os.listdir("/input"))',
      'for name in names:',
      '    with open("/input/" + name) as f: data = f.read()',
      '    with open(name, "w") as f: f.write("out:" + data)',
      'print(",".join(names))',
    ].join('\n');
    const { status, body } = await run('python', code, inputs);
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.status, JSON.stringify(body)).toBe('succeeded');
    expect(body.stdout).toBe(`${[...NAMES].sort().join(',')}\n`);
    expectEveryName(body.files);
  });

  it('the CLI sends inputs given with --input under those names', async () => {
    const args = ['run', '--profile', 'sandbox', '-l', 'js', '--json'];
    for (const name of NAMES) {
      writeFileSync(join(t.home, `in-${name}`), `content of ${name}`);
      args.push('--input', `${name}=in-${name}`);
    }
    args.push('-c', 'for (const n of files.list()) files.write(n, "out:" + files.read(n))');
    const out = await runCli(args, { env: t.cliEnv('agent'), cwd: t.home });
    expect(out.code, out.stderr).toBe(EXIT.succeeded);
    expectEveryName((JSON.parse(out.stdout) as RunBody).files);
  });
});
