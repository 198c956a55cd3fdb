/**
 * `npm start` with a profile that bundles Python packages (#17): the server prepares them from the
 * build machine's cache (here: a file:// mirror of wheels this test builds, and a lock standing in
 * for the real one), a signed run imports one, another profile cannot, and `GET /v1/profiles`
 * names them. Then a start with neither cache nor mirror: the server starts, and the import says why.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareLocalPythonPackages } from '../../lib/bundling/local-python-packages.ts';
import { PACKAGE_ROOT } from '../../lib/bundling/package-paths.ts';
import { readPyodideLock } from '../../lib/bundling/pyodide-packages.ts';
import { lockOf, pureWheel } from '../support/python-wheel.ts';
import { sdkSigned, startTestServer, type TestServer } from './support.ts';

const leaf = pureWheel('custody-leaf', { 'custody_leaf/__init__.py': 'VALUE = 7\n' });
const top = pureWheel(
  'custody-top',
  { 'custody_top/__init__.py': 'import custody_leaf\ndef answer():\n    return custody_leaf.VALUE * 6\n' },
  { depends: ['custody-leaf'] },
);

let scratch: string;
let pyodideDir: string;
let policyFile: string;
let unreachablePolicyFile: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'custody-e2e-pypkgs-'));
  pyodideDir = join(scratch, 'pyodide');
  mkdirSync(pyodideDir);
  const real = readPyodideLock(join(PACKAGE_ROOT, 'node_modules', 'pyodide'));
  writeFileSync(join(pyodideDir, 'package.json'), JSON.stringify({ version: real.version }));
  const lock = lockOf(real.lock.info, [leaf, top]);
  // A real Pyodide package too (its file is in no mirror here): the one that cannot be had.
  const six = real.lock.packages.six;
  writeFileSync(
    join(pyodideDir, 'pyodide-lock.json'),
    JSON.stringify({ ...lock, packages: { ...lock.packages, six } }),
  );
  const mirror = join(scratch, 'mirror');
  mkdirSync(mirror);
  for (const w of [leaf, top]) writeFileSync(join(mirror, w.fileName), w.bytes);
  const policy = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'custody.policy.json'), 'utf8'));
  policy.profiles.reports.python = { packages: ['custody-top'] };
  policyFile = join(scratch, 'policy.json');
  writeFileSync(policyFile, JSON.stringify(policy));
  policy.profiles.reports.python = { packages: ['six'] };
  unreachablePolicyFile = join(scratch, 'policy-six.json');
  writeFileSync(unreachablePolicyFile, JSON.stringify(policy));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function execute(t: TestServer, profile: string, code: string) {
  const answer = await sdkSigned({
    identity: t.identity('agent'),
    url: `${t.server.url}/v1/executions`,
    method: 'POST',
    body: JSON.stringify({ profile, language: 'python', code }),
  });
  expect(answer.status, answer.body).toBe(200);
  return JSON.parse(answer.body) as {
    status: string;
    stdout: string;
    error?: { name: string; message: string };
  };
}

describe('npm start with Python packages', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      policyFile,
      preparePythonPackages: (policy, dir) =>
        prepareLocalPythonPackages(policy, {
          dir,
          pyodideDir,
          baseUrl: pathToFileURL(join(scratch, 'mirror')).href,
          cacheDir: join(scratch, 'cache'),
        }),
    });
    await t.server.pythonReady;
  }, 180_000);
  afterAll(async () => t?.stop());

  it("runs a signed import of the profile's package, and refuses it to another profile", async () => {
    expect(await execute(t, 'reports', 'import custody_top\nprint(custody_top.answer())')).toMatchObject({
      status: 'succeeded',
      stdout: '42\n',
    });
    const other = await execute(t, 'sandbox', 'import custody_top');
    expect(other.error?.message).toContain(
      'profile "sandbox" does not bundle the Pyodide package custody-top',
    );
  });

  it('lists each profile’s packages in GET /v1/profiles', async () => {
    const answer = await sdkSigned({
      identity: t.identity('agent'),
      url: `${t.server.url}/v1/profiles`,
      method: 'GET',
    });
    expect(answer.status, answer.body).toBe(200);
    const { profiles } = JSON.parse(answer.body) as { profiles: { name: string; packages: unknown }[] };
    expect(profiles.find((p) => p.name === 'reports')?.packages).toEqual({
      python: ['custody-top'],
      javascript: [],
    });
    expect(profiles.find((p) => p.name === 'sandbox')?.packages).toEqual({
      python: [],
      javascript: ['papaparse'],
    });
  });
});

describe('npm start when the packages can be neither found nor fetched', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      policyFile: unreachablePolicyFile,
      preparePythonPackages: (policy, dir) =>
        prepareLocalPythonPackages(policy, {
          dir,
          pyodideDir,
          baseUrl: pathToFileURL(join(scratch, 'no-such-mirror')).href,
          cacheDir: join(scratch, 'empty-cache'),
        }),
    });
    await t.server.pythonReady;
  }, 180_000);
  afterAll(async () => t?.stop());

  it('starts, runs code that imports nothing extra, and says why an import of the package fails', async () => {
    expect(await execute(t, 'reports', 'print(6 * 7)')).toMatchObject({
      status: 'succeeded',
      stdout: '42\n',
    });
    const missing = await execute(t, 'reports', 'import six');
    expect(missing.error?.message).toContain('npm start could not prepare its Python packages');
  });
});
