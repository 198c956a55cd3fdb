/**
 * Boundaries the language suites do not cross head-on, tried through createSandbox() as the
 * executor uses it: file names that climb out of the input/output folders, symlinks and mounts in
 * Pyodide's file system, environment changes meant for the next execution, and output caps
 * against many files and one very long line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Language, SandboxResult } from '../../lambda/core/types.ts';
import { type CustodySandbox, createSandbox } from '../../lambda/sandbox/index.ts';
import { type Canaries, expectStillWorks, hostFileExists, LIMITS, makeCanaries, request } from './helpers.ts';

let sandbox: CustodySandbox;
let canaries: Canaries;

beforeAll(async () => {
  sandbox = createSandbox({ prestartedProcesses: 1 });
  canaries = await makeCanaries();
});

afterAll(async () => {
  await sandbox.close();
  await canaries.dispose();
});

const run = (language: Language, code: string, extra = {}) => sandbox.run(request(language, code, extra));
const resultOf = (r: SandboxResult) => (r.status === 'succeeded' ? r.result : undefined);

describe('file names that climb out of the sandbox folders', () => {
  const climbing = () => ['../escape.txt', `/..${canaries.writablePath}`, 'a/../../b', 'a\u0000b'];

  it('refuses Python input file names that climb, are absolute or hold a NUL, before anything runs', async () => {
    for (const name of climbing()) {
      await expect(run('python', '1', { files: { [name]: 'x' } })).rejects.toThrow(/input file name/);
    }
    expect(hostFileExists(canaries.writablePath)).toBe(false);
    await expectStillWorks(sandbox, 'python');
  });

  it('keeps JavaScript input files as names in memory, so a climbing name reaches no host path', async () => {
    // The executor event and the broker refuse such names first; QuickJS has no file system at all.
    const files = Object.fromEntries(climbing().map((name) => [name, `content of ${name}`]));
    const result = await run('javascript', `files.write('../../../..${canaries.writablePath}', 'pwned'); 1`, {
      files,
    });
    expect(result.status).toBe('failed');
    const read = await run('javascript', `files.read(${JSON.stringify(`/..${canaries.writablePath}`)})`, {
      files,
    });
    expect(resultOf(read)).toBe(JSON.stringify(`content of /..${canaries.writablePath}`));
    expect(hostFileExists(canaries.writablePath)).toBe(false);
    expect(canaries.leakedInto(read)).toBe(false);
  });

  it('keeps Python writes through climbing and absolute paths inside its own in-memory file system', async () => {
    const target = JSON.stringify(canaries.writablePath);
    const result = await run(
      'python',
      [
        'import os',
        `for p in ['../../../../..' + ${target}, ${target}, '../escaped.txt', '/tmp/escaped.txt']:`,
        '    try:',
        '        os.makedirs(os.path.dirname(p), exist_ok=True)',
        '        open(p, "w").write("pwned")',
        '    except OSError:',
        '        pass',
        'open("ok.txt", "w").write("fine")',
        'sorted(os.listdir("/output"))',
      ].join('\n'),
    );
    expect(result.status).toBe('succeeded');
    expect(hostFileExists(canaries.writablePath)).toBe(false);
    expect(result.files).toEqual({ 'ok.txt': 'fine' });
  });

  it('returns no file through a Python symlink or hard link, and reads no host file through one', async () => {
    const host = JSON.stringify(canaries.readablePath);
    const result = await run(
      'python',
      [
        'import os',
        'out = {}',
        `os.symlink(${host}, "/output/host-link")`,
        'os.symlink("/input/in.txt", "/output/input-link")',
        'os.symlink("/output", "/output/loop")',
        'try:',
        '    out["host"] = open("/output/host-link").read()',
        'except OSError as e:',
        '    out["host"] = "blocked: " + type(e).__name__',
        'try:',
        '    os.link("/input/in.txt", "/output/hard-link")',
        'except (OSError, AttributeError) as e:',
        '    out["hard"] = "blocked: " + type(e).__name__',
        'out',
      ].join('\n'),
      { files: { 'in.txt': 'input text' } },
    );
    expect(result.status).toBe('succeeded');
    expect(resultOf(result)).toContain("'host': 'blocked");
    expect(canaries.leakedInto(result)).toBe(false);
    // Links are not regular files: none is followed into the returned files (Pyodide has no os.link).
    expect(Object.keys(result.files)).toEqual([]);
  });

  it('cannot mount the host file system into Pyodide', async () => {
    const dir = JSON.stringify(canaries.dir);
    const result = await run(
      'python',
      [
        'from pyodide_js import FS',
        'import os',
        'try:',
        '    os.makedirs("/mnt/host", exist_ok=True)',
        `    FS.mount(FS.filesystems.NODEFS, __import__("pyodide.ffi").ffi.to_js({"root": ${dir}}, dict_converter=__import__("js").Object.fromEntries), "/mnt/host")`,
        '    r = str(os.listdir("/mnt/host"))',
        'except BaseException as e:',
        '    r = "blocked: " + type(e).__name__',
        'r',
      ].join('\n'),
    );
    expect(resultOf(result) ?? result.status).not.toContain('secret.txt');
    expect(canaries.leakedInto(result)).toBe(false);
    await expectStillWorks(sandbox, 'python');
  });
});

describe('environment changes meant for the next execution', () => {
  it('does not carry a Python os.environ or putenv change into the next run', async () => {
    const first = await run(
      'python',
      'import os\nos.environ["LEFT_BEHIND"] = "a"\nos.putenv("PUT_BEHIND", "b")\nos.environ["API_TOKEN"] = "changed"\n1',
      { env: { API_TOKEN: 'tenant-a' } },
    );
    expect(first.status).toBe('succeeded');
    const second = await run(
      'python',
      'import os\n(os.environ.get("LEFT_BEHIND"), os.getenv("PUT_BEHIND"), os.environ.get("API_TOKEN"), sorted(os.environ))',
      { env: { API_TOKEN: 'tenant-b' } },
    );
    expect(resultOf(second)).toBe("(None, None, 'tenant-b', ['API_TOKEN'])");
  });

  it('does not carry a JavaScript process.env change into the next run', async () => {
    const first = await run(
      'javascript',
      'process.env.LEFT_BEHIND = "a"; process.env.API_TOKEN = "changed"; 1',
      {
        env: { API_TOKEN: 'tenant-a' },
      },
    );
    expect(first.status).toBe('succeeded');
    const second = await run('javascript', 'JSON.stringify(process.env)', { env: { API_TOKEN: 'tenant-b' } });
    expect(JSON.parse(resultOf(second) ?? 'null')).toBe('{"API_TOKEN":"tenant-b"}');
  });
});

describe('output caps against many files and one long line', () => {
  it.each([
    ['python', 'for i in range(500):\n    open(f"f{i}.txt", "w").write("x")'],
    ['javascript', 'for (let i = 0; i < 500; i++) { try { files.write(`f${i}.txt`, "x"); } catch {} }'],
  ] as const)('returns at most 100 %s output files and says the rest were cut', async (language, code) => {
    const result = await run(language, code);
    expect(Object.keys(result.files).length).toBeLessThanOrEqual(100);
    expect(Object.keys(result.files).length).toBeGreaterThan(0);
    expect(result.filesTruncated).toBe(true);
    await expectStillWorks(sandbox, language);
  });

  it.each([
    ['python', 'print("x" * 20_000_000)'],
    ['javascript', 'console.log("x".repeat(20_000_000))'],
  ] as const)('cuts one very long %s line at maxOutputBytes', async (language, code) => {
    const result = await run(language, code, { limits: { ...LIMITS, memoryMiB: 256 } });
    expect(['output_limit', 'succeeded']).toContain(result.status);
    expect(result.stdoutTruncated).toBe(true);
    expect(Buffer.byteLength(result.stdout)).toBeLessThanOrEqual(LIMITS.maxOutputBytes);
    await expectStillWorks(sandbox, language);
  });
});
