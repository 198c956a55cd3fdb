/** What Python code gets from the Pyodide-in-Deno sandbox when it behaves, and executor failures. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DependencyError } from '../../lambda/core/errors.ts';
import { PythonSandbox } from '../../lambda/sandbox/python-sandbox.ts';
import { resolveRuntimeFiles } from '../../lambda/sandbox/runtime-files.ts';
import { LIMITS, request } from './helpers.ts';

let sandbox: PythonSandbox;

beforeAll(async () => {
  sandbox = new PythonSandbox(resolveRuntimeFiles(), { prestartedProcesses: 2 });
  await sandbox.warmUp();
});

afterAll(() => sandbox.close());

describe('Python sandbox', () => {
  it('captures stdout and stderr and returns the repr of the last expression', async () => {
    const result = await sandbox.run(
      request('python', 'import sys\nprint("out", 1)\nprint("err", file=sys.stderr)\n{"total": 3}'),
    );
    expect(result).toMatchObject({
      status: 'succeeded',
      stdout: 'out 1\n',
      stderr: 'err\n',
      result: "{'total': 3}",
    });
  });

  it('reports an exception with a traceback of the user code only', async () => {
    const result = await sandbox.run(
      request('python', 'def parse(text):\n    return int(text)\n\nparse("x")'),
    );
    expect(result.status).toBe('failed');
    if (result.status !== 'failed') return;
    expect(result.error).toMatchObject({ name: 'ValueError' });
    expect(result.error.traceback).toContain('File "main.py", line 2, in parse');
    expect(result.error.traceback).not.toMatch(/_pyodide|<custody>/);
  });

  it('reports a syntax error as a failure of the code', async () => {
    const result = await sandbox.run(request('python', 'def broken(:\n    pass'));
    expect(result.status === 'failed' ? result.error.name : result.status).toBe('SyntaxError');
  });

  it('treats exit(0) as success and exit(2) as failure', async () => {
    const ok = await sandbox.run(request('python', 'import sys\nprint("bye")\nsys.exit(0)'));
    const bad = await sandbox.run(request('python', 'import sys\nsys.exit(2)'));
    expect(ok).toMatchObject({ status: 'succeeded', stdout: 'bye\n' });
    expect(bad.status === 'failed' ? bad.error.name : bad.status).toBe('SystemExit');
  });

  it('runs top-level await', async () => {
    const result = await sandbox.run(request('python', 'import asyncio\nawait asyncio.sleep(0)\n"awaited"'));
    expect(result).toMatchObject({ status: 'succeeded', result: "'awaited'" });
  });

  it('reads input files under /input, which are read-only', async () => {
    const result = await sandbox.run(
      request(
        'python',
        `text = open('/input/data/in.csv').read()
try:
    open('/input/data/in.csv', 'w').write('changed')
    mode = 'writable'
except OSError:
    mode = 'read-only'
(text, mode)`,
        { files: { 'data/in.csv': 'a,b\n1,2\n' } },
      ),
    );
    expect(result).toMatchObject({ status: 'succeeded', result: "('a,b\\n1,2\\n', 'read-only')" });
  });

  it('returns the files written under the output folder (the working directory)', async () => {
    const result = await sandbox.run(
      request(
        'python',
        "import os\nos.makedirs('charts', exist_ok=True)\nopen('charts/a.txt', 'w').write('A')\nos.getcwd()",
      ),
    );
    expect(result).toMatchObject({
      status: 'succeeded',
      result: "'/output'",
      files: { 'charts/a.txt': 'A' },
      filesTruncated: false,
    });
  });

  it('caps the files returned and marks them truncated', async () => {
    const result = await sandbox.run(
      request('python', "open('small.txt', 'w').write('s')\nopen('big.txt', 'w').write('x' * 5000)", {
        limits: { ...LIMITS, maxOutputBytes: 1000 },
      }),
    );
    expect(result.status).toBe('succeeded');
    expect(result.files).toEqual({ 'small.txt': 's' });
    expect(result.filesTruncated).toBe(true);
  });

  it('exposes the variables of this execution as os.environ', async () => {
    const result = await sandbox.run(
      request('python', 'import os\nos.environ["REGION"]', { env: { REGION: 'eu-west-1' } }),
    );
    expect(result).toMatchObject({ status: 'succeeded', result: "'eu-west-1'" });
  });

  it('honours the memory limit of each execution', async () => {
    const code = 'len(bytearray(48 * 1024 * 1024))';
    const small = await sandbox.run(request('python', code, { limits: { ...LIMITS, memoryMiB: 32 } }));
    const large = await sandbox.run(request('python', code, { limits: { ...LIMITS, memoryMiB: 128 } }));
    expect(small.status).toBe('out_of_memory');
    expect(large).toMatchObject({ status: 'succeeded', result: String(48 * 1024 * 1024) });
  });

  it('serves concurrent executions, each in its own process', async () => {
    const results = await Promise.all(
      [0, 1, 2].map((i) => sandbox.run(request('python', `import os\n(os.getpid() >= 0, ${i})`))),
    );
    expect(results.map((r) => (r.status === 'succeeded' ? r.result : r.status))).toEqual([
      '(True, 0)',
      '(True, 1)',
      '(True, 2)',
    ]);
  });

  it('throws an executor error (nothing ran) when its runtime cannot start', async () => {
    const broken = new PythonSandbox(
      { ...resolveRuntimeFiles(), pyodideDir: '/nonexistent/pyodide' },
      {
        prestartedProcesses: 0,
        startTimeoutMs: 30_000,
      },
    );
    try {
      await expect(broken.run(request('python', '1'))).rejects.toBeInstanceOf(DependencyError);
    } finally {
      await broken.close();
    }
  });

  it('reads the output of the host to the end, even what arrives after the host process has exited', async () => {
    // A stand-in for deno: ready, take the job, then exit at once while a child still holding
    // stdout writes the result a moment later. Waiting for 'exit' instead of 'close' loses it.
    const dir = mkdtempSync(join(tmpdir(), 'custody-fake-deno-'));
    const fakeDeno = join(dir, 'deno');
    const result = JSON.stringify({
      t: 'result',
      outcome: { ok: true, result: 'late' },
      outputExceeded: false,
      memoryExhausted: false,
      files: [],
      filesTruncated: false,
    });
    writeFileSync(
      fakeDeno,
      `#!/bin/bash\necho '{"t":"ready"}'\n/bin/cat > /dev/null\n(/bin/sleep 0.3; echo '${result}') &\nexit 0\n`,
      { mode: 0o755 },
    );
    const late = new PythonSandbox(
      { ...resolveRuntimeFiles(), denoPath: fakeDeno, snapshotPath: fakeDeno },
      { prestartedProcesses: 0 },
    );
    try {
      const outcome = await late.run(request('python', 'ignored'));
      expect(outcome).toMatchObject({ status: 'succeeded', result: 'late' });
    } finally {
      await late.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
