/**
 * A profile's Pyodide packages at run time (#17): loaded from the bundled folder with no network,
 * refused with a clear message when the profile does not bundle them, never installed.
 *
 * The real numpy/pandas/matplotlib cannot be fetched here (no Pyodide CDN, no PyPI): the wheels are
 * pure-Python ones this test builds, served by a loopback server and bundled by the synth code.
 * `matplotlib` below is such a wheel with the `matplotlib.pyplot` surface the figure capture uses
 * (figure, plot, get_fignums, savefig, close), not the real library.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxResult } from '../../lambda/core/types.ts';
import { PythonSandbox } from '../../lambda/sandbox/python-sandbox.ts';
import { runtimeFilesFromNodeModules } from '../../lambda/sandbox/runtime-files.ts';
import { PACKAGE_ROOT } from '../../lib/bundling/package-paths.ts';
import { bundlePythonPackages, readPyodideLock } from '../../lib/bundling/pyodide-packages.ts';
import { lockOf, pureWheel } from '../support/python-wheel.ts';
import { LIMITS, request } from './helpers.ts';

const leaf = pureWheel('custody-leaf', { 'custody_leaf/__init__.py': 'VALUE = 7\n' });
const top = pureWheel(
  'custody-top',
  { 'custody_top/__init__.py': 'import custody_leaf\ndef answer():\n    return custody_leaf.VALUE * 6\n' },
  { depends: ['custody-leaf'] },
);
const fakeMatplotlib = pureWheel('matplotlib', {
  'matplotlib/__init__.py': "__version__ = 'custody-test'\n",
  'matplotlib/pyplot.py': [
    '_figures = {}',
    '_current = [None]',
    'class Figure:',
    '    def __init__(self, number):',
    '        self.number = number',
    '        self.lines = []',
    '    def savefig(self, fname, format=None):',
    "        with open(fname, 'wb') as f:",
    "            f.write(b'\\x89PNG\\r\\n\\x1a\\n' + ('fake figure %d: %r' % (self.number, self.lines)).encode())",
    'def figure(num=None):',
    '    if num is None:',
    '        num = max(_figures, default=0) + 1',
    '    _current[0] = _figures.setdefault(num, Figure(num))',
    '    return _current[0]',
    'def plot(*values):',
    '    (_current[0] or figure()).lines.append(list(values))',
    'def savefig(fname, format=None):',
    '    (_current[0] or figure()).savefig(fname, format)',
    'def get_fignums():',
    '    return sorted(_figures)',
    'def close(which=None):',
    "    if which == 'all':",
    '        _figures.clear()',
    '    elif which is not None:',
    '        _figures.pop(getattr(which, "number", which), None)',
    '    _current[0] = None',
    '',
  ].join('\n'),
});

let scratch: string;
let server: Server;
let hits: string[];
let sandbox: PythonSandbox;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'custody-pypkgs-run-'));
  const files = new Map([leaf, top, fakeMatplotlib].map((w) => [w.fileName, w.bytes]));
  hits = [];
  server = createServer((req, res) => {
    const name = (req.url ?? '').slice(1);
    hits.push(name);
    const body = files.get(name);
    if (body) res.writeHead(200).end(body);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const real = readPyodideLock(join(PACKAGE_ROOT, 'node_modules', 'pyodide'));
  const packagesDir = join(scratch, 'python-packages');
  await bundlePythonPackages({
    names: ['custody-top', 'matplotlib'],
    lock: lockOf(real.lock.info, [leaf, top, fakeMatplotlib]),
    profileName: 'analysis',
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    cacheDir: join(scratch, 'cache'),
    outDir: packagesDir,
  });
  sandbox = new PythonSandbox(
    { ...runtimeFilesFromNodeModules(), pythonPackagesDir: packagesDir },
    {
      prestartedProcesses: 1,
      maxConcurrent: 1,
      pythonPackages: { analysis: ['custody-leaf', 'custody-top', 'matplotlib'], plain: [] },
    },
  );
  await sandbox.warmUp();
}, 120_000);

afterAll(async () => {
  await sandbox?.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(scratch, { recursive: true, force: true });
});

/** A run of `profile`, with room for loading a package on a loaded machine. */
function run(code: string, profile = 'analysis') {
  return request('python', code, { profile, limits: { ...LIMITS, timeoutMs: 30_000 } });
}

function failure(result: SandboxResult): { name: string; message: string } {
  if (result.status !== 'failed')
    throw new Error(`expected a failure, got ${result.status}: ${result.stderr}`);
  return result.error;
}

describe('Pyodide packages in the Python sandbox', () => {
  it('imports a bundled package and its dependency from the bundle, with no network', async () => {
    const before = hits.length;
    const result = await sandbox.run(run('import custody_top\ncustody_top.answer()'));
    expect(result).toMatchObject({ status: 'succeeded', result: '42' });
    expect(hits.length).toBe(before);
  });

  it('loads a package an earlier call of the session imported, for a call that does not import it (#15)', async () => {
    const first = await sandbox.run({
      ...run('import custody_top\ndef doubled():\n    return custody_top.answer() * 2'),
      session: {},
    });
    expect(first.status, first.stderr).toBe('succeeded');
    const second = await sandbox.run({
      ...run('(custody_top.answer(), doubled())'),
      session: { state: first.state!.carried },
    });
    expect(second).toMatchObject({ status: 'succeeded', result: '(42, 84)' });
    expect(second.state?.dropped).toEqual([]);
  });

  it('refuses an import of a Pyodide package the profile does not bundle, naming the profile and how to add it', async () => {
    const result = await sandbox.run(run('import numpy'));
    expect(failure(result)).toMatchObject({ name: 'ModuleNotFoundError' });
    expect(failure(result).message).toContain(
      `No module named 'numpy': profile "analysis" does not bundle the Pyodide package numpy. ` +
        'Add it to the profile in the policy ("python": {"packages": ["numpy"]})',
    );
  });

  it('keeps a bundled package from a profile that does not list it (one folder, several profiles)', async () => {
    const result = await sandbox.run(run('import custody_top', 'plain'));
    expect(failure(result).message).toContain(
      'profile "plain" does not bundle the Pyodide package custody-top',
    );
  });

  it('lets code fall back when an optional import is missing', async () => {
    const code = 'try:\n    import pandas\nexcept ImportError:\n    pandas = None\npandas is None';
    expect(await sandbox.run(run(code))).toMatchObject({
      status: 'succeeded',
      result: 'True',
    });
  });

  it('installs nothing at run time: micropip is refused, loadPackage neither fetches nor finds', async () => {
    const micropip = await sandbox.run(run('import micropip'));
    expect(failure(micropip).message).toContain('does not bundle the Pyodide package micropip');

    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${top.fileName}`;
    const before = hits.length;
    const code = [
      'import pyodide_js',
      'outcomes = []',
      `for target in ["numpy", "${url}"]:`,
      '    try:',
      '        await pyodide_js.loadPackage(target)',
      '        outcomes.append("returned")',
      '    except Exception as e:',
      '        outcomes.append(type(e).__name__)',
      'try:',
      '    import numpy',
      '    outcomes.append("numpy imported")',
      'except ImportError:',
      '    outcomes.append("no numpy")',
      'outcomes',
    ].join('\n');
    const result = await sandbox.run(run(code));
    expect(result.status).toBe('succeeded');
    if (result.status === 'succeeded') expect(result.result).toMatch(/'no numpy'\]$/);
    expect(hits.length).toBe(before);
  });

  it('returns a matplotlib figure left open as a PNG file, and nothing when none is open', async () => {
    const open = await sandbox.run(run('import matplotlib.pyplot as plt\nplt.figure()\nplt.plot(1, 2, 3)'));
    expect(open.status).toBe('succeeded');
    expect(Object.keys(open.files)).toEqual(['figure-1.png']);
    // Not UTF-8 text: bytes (#16), starting with the PNG signature.
    const figure = open.files['figure-1.png'];
    expect(figure).toBeInstanceOf(Uint8Array);
    const bytes = Buffer.from(figure as Uint8Array);
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(bytes.subarray(8).toString('utf8')).toBe('fake figure 1: [[1, 2, 3]]');

    const closed = await sandbox.run(
      run('import matplotlib.pyplot as plt\nplt.plot(1)\nplt.savefig("mine.png")\nplt.close("all")'),
    );
    expect(Object.keys(closed.files)).toEqual(['mine.png']);
    const none = await sandbox.run(run('print(1)'));
    expect(none.files).toEqual({});
  });
});
