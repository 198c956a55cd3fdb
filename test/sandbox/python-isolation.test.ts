/**
 * What one Python execution can learn of the host or of other executions, and what it leaves
 * behind: fresh randomness per run, no host path, pid or resolver address in sight, nothing on
 * disk after a run, timings the code cannot forge, and ordinary names as output file names.
 */
import { type Dirent, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxResult } from '../../lambda/core/types.ts';
import { PythonSandbox } from '../../lambda/sandbox/python-sandbox.ts';
import { resolveRuntimeFiles } from '../../lambda/sandbox/runtime-files.ts';
import { LIMITS, request } from './helpers.ts';

let sandbox: PythonSandbox;

beforeAll(async () => {
  sandbox = new PythonSandbox(resolveRuntimeFiles(), { prestartedProcesses: 1 });
  await sandbox.warmUp();
});

afterAll(() => sandbox.close());

const py = (code: string, limits = LIMITS) => sandbox.run(request('python', code, { limits }));
const resultOf = (r: SandboxResult) =>
  r.status === 'succeeded' ? r.result : `${r.status}: ${JSON.stringify(r)}`;

/** Bytes of every file under a folder (following nothing), 0 if it is gone. */
function bytesUnder(dir: string): number {
  let total = 0;
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true, recursive: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

describe('Python randomness', () => {
  it('draws other numbers, shuffles and uuids in every execution', async () => {
    const code = `
import random, uuid, tempfile, secrets
deck = list(range(52))
random.shuffle(deck)
(random.random(), deck, str(uuid.uuid4()), secrets.token_hex(8), next(tempfile._get_candidate_names()))`;
    const runs = await Promise.all([py(code), py(code), py(code)]);
    const values = runs.map(resultOf);
    for (const value of values) expect(value).toMatch(/^\(0\.\d+, \[/);
    expect(new Set(values).size).toBe(3);
    // Each part differs on its own, not only the tuple as a whole.
    const parts = values.map((v) => (v ?? '').split(/, (?=\[|')/));
    for (let i = 0; i < 5; i += 1) {
      expect(new Set(parts.map((p) => p[i])).size, `part ${i}`).toBe(3);
    }
  });
});

describe('Python sandbox and the host', () => {
  it('shows the code no host path, pid or resolver address, through Python, import js or run_js', async () => {
    const resolvers = readFileSync('/etc/resolv.conf', 'utf8')
      .split('\n')
      .map((line) => /^nameserver\s+(\S+)/.exec(line)?.[1])
      .filter((ip): ip is string => ip !== undefined);
    const files = resolveRuntimeFiles();
    const needles = [process.cwd(), files.pyodideDir, files.hostScriptPath].map((path) =>
      Buffer.from(path).toString('base64'),
    );
    const result = await py(
      `
import js, os, sys, pyodide_js
from pyodide.code import run_js
out = []
def probe(f):
    try:
        out.append(repr(f()))
    except BaseException as e:
        out.append('refused: ' + type(e).__name__ + ': ' + str(e))
for f in [lambda: js.Deno.execPath(), lambda: js.Deno.mainModule, lambda: js.Deno.args, lambda: js.Deno.cwd(),
          lambda: js.Deno.pid, lambda: js.Deno.ppid, lambda: js.Deno.permissions.querySync(js.JSON.parse('{"name":"read"}')),
          lambda: run_js('new Error().stack'), lambda: run_js('Deno.execPath()'), lambda: run_js('Deno.mainModule'),
          lambda: run_js('JSON.stringify(Deno.args)'), lambda: run_js('Deno.cwd()'), lambda: run_js('Deno.ppid'),
          lambda: run_js('typeof Deno[Deno.internal]'), lambda: run_js('typeof Worker'),
          lambda: pyodide_js._api.config.indexURL, lambda: sys.executable, lambda: os.getcwd(), lambda: sys.argv]:
    probe(f)
for source in ["Deno.resolveDns('example.com', 'A')", "Deno.resolveDns('example.com', 'A', {nameServer: {ipAddr: '1.1.1.1'}})",
               "import('node:dns').then(m => m.promises.resolve4('example.com'))",
               "import('node:process').then(m => JSON.stringify([m.default.ppid, m.default.execPath, m.default.argv, m.default.argv0, m.default.title, m.default.cwd()]))",
               "import('node:os').then(m => m.hostname())", "fetch('http://example.com/')"]:
    try:
        out.append(str(await run_js(source)))
    except BaseException as e:
        out.append('refused: ' + str(e))
# The Python heap, snapshot included, searched from JavaScript (so the needles, given in
# base64, never enter that heap themselves).
search = run_js('''(heap, needles) => needles.map((b64) => {
  const n = new TextEncoder().encode(atob(b64));
  outer: for (let i = heap.indexOf(n[0]); i >= 0; i = heap.indexOf(n[0], i + 1)) {
    for (let j = 1; j < n.length; j++) if (heap[i + j] !== n[j]) continue outer;
    return true;
  }
  return false;
}).join(',')''')
out.append('heap holds host paths: ' + search(pyodide_js._module.HEAPU8, js.JSON.parse(${JSON.stringify(JSON.stringify(needles))})))
'\\n'.join(out)`,
      { ...LIMITS, timeoutMs: 20_000, memoryMiB: 256, maxOutputBytes: 65_536 },
    );
    expect(result.status).toBe('succeeded');
    const text = resultOf(result) ?? '';
    // What the probes saw was refused or neutral; the attack itself reached Deno (not a typo).
    expect(text).toContain('Deno.execPath() is not available');
    expect(text).toContain('heap holds host paths: false,false,false');
    const hostDetails = [
      process.cwd(),
      dirname(files.denoPath),
      files.pyodideDir,
      files.hostScriptPath,
      'node_modules',
      `${process.pid}`,
      ...resolvers,
    ];
    for (const detail of hostDetails) expect(text, detail).not.toContain(detail);
  });
});

describe('Python runs and the disk', () => {
  it('leaves nothing on disk when the code makes Deno compile modules', async () => {
    // This process's sandbox folders (other processes on the machine may run sandboxes too).
    const work = readdirSync(tmpdir())
      .filter((name) => name.startsWith('custody-python-'))
      .map((name) => join(tmpdir(), name))
      .filter((dir) => {
        try {
          return readFileSync(join(dir, 'owner'), 'utf8').split(' ')[0] === String(process.pid); // pid, start time
        } catch {
          return false;
        }
      });
    expect(work.length).toBeGreaterThan(0);
    const before = work.map(bytesUnder).reduce((a, b) => a + b, 0);
    const result = await py(
      `
from pyodide.code import run_js
body = 'export const f = () => [' + ','.join('"' + str(i) * 20 + '"' for i in range(20000)) + '];'
for i in range(4):
    await run_js("import('data:text/javascript,' + encodeURIComponent(" + repr('//' + str(i) + '\\n' + body) + "))")
'imported'`,
      { ...LIMITS, timeoutMs: 30_000, memoryMiB: 256 },
    );
    expect(resultOf(result)).toBe("'imported'");
    const after = work.map(bytesUnder).reduce((a, b) => a + b, 0);
    expect(after - before).toBe(0);
  });
});

describe('Python output the parent does not trust', () => {
  it('measures the timings itself, whatever the code writes to the pipe', async () => {
    const started = performance.now();
    const result = await py(`
import js
forged = '{"t":"result","outcome":{"ok":true,"result":"forged"},"outputExceeded":false,"memoryExhausted":false,"files":[],"filesTruncated":false,"prepMs":-1e12,"runMs":1e12,"loadMs":1e12}\\n'
js.Deno.stdout.writeSync(js.TextEncoder.new().encode(forged))
'real'`);
    const wallMs = performance.now() - started;
    expect(result.timings.startMs).toBeGreaterThanOrEqual(0);
    expect(result.timings.runMs).toBeGreaterThanOrEqual(0);
    expect(result.timings.startMs + result.timings.runMs).toBeLessThanOrEqual(wallMs);
  });

  it('returns output files named like object properties intact', async () => {
    const names = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'];
    const result = await py(
      `for name in ${JSON.stringify(names)}:\n    open(name, 'w').write('file ' + name)\n'written'`,
    );
    expect(resultOf(result)).toBe("'written'");
    expect(Object.keys(result.files).sort()).toEqual([...names].sort());
    for (const name of names) {
      expect(Object.getOwnPropertyDescriptor(result.files, name)?.value).toBe(`file ${name}`);
    }
  });
});
