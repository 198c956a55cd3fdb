import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareLocalPythonPackages } from '../../../lib/bundling/local-python-packages.ts';
import { PACKAGE_ROOT } from '../../../lib/bundling/package-paths.ts';
import { readPyodideLock } from '../../../lib/bundling/pyodide-packages.ts';
import { lockOf, pureWheel } from '../../support/python-wheel.ts';

const leaf = pureWheel('custody-leaf', { 'custody_leaf/__init__.py': 'VALUE = 7\n' });
const top = pureWheel(
  'custody-top',
  { 'custody_top/__init__.py': 'import custody_leaf\n' },
  { depends: ['custody-leaf'] },
);
const other = pureWheel('custody-other', { 'custody_other.py': 'X = 1\n' });

const profile = (packages: string[]) => ({ python: { packages } }) as never;

describe('prepareLocalPythonPackages', () => {
  let scratch: string;
  let pyodideDir: string;
  let mirror: string;
  let options: { dir: string; cacheDir: string; pyodideDir: string; baseUrl: string };
  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'custody-local-pypkgs-'));
    // A stand-in for node_modules/pyodide: its version and a lock holding the test's wheels.
    pyodideDir = join(scratch, 'pyodide');
    mkdirSync(pyodideDir);
    const real = readPyodideLock(join(PACKAGE_ROOT, 'node_modules', 'pyodide'));
    writeFileSync(join(pyodideDir, 'package.json'), JSON.stringify({ version: real.version }));
    writeFileSync(
      join(pyodideDir, 'pyodide-lock.json'),
      JSON.stringify(lockOf(real.lock.info, [leaf, top, other])),
    );
    mirror = join(scratch, 'mirror');
    mkdirSync(mirror);
    for (const w of [leaf, top, other]) writeFileSync(join(mirror, w.fileName), w.bytes);
    options = {
      dir: join(scratch, 'home', 'python-packages'),
      cacheDir: join(scratch, 'cache'),
      pyodideDir,
      baseUrl: pathToFileURL(mirror).href,
    };
  });
  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  it('lays out the packages of every profile once, and tells each profile what it may load', async () => {
    const prepared = await prepareLocalPythonPackages(
      {
        profiles: {
          analysis: profile(['custody-top']),
          plain: profile([]),
          misc: profile(['custody-other']),
        },
      },
      options,
    );
    expect(prepared).toEqual({
      dir: options.dir,
      perProfile: { analysis: ['custody-leaf', 'custody-top'], misc: ['custody-other'] },
      problems: {},
    });
    expect(readdirSync(options.dir).sort()).toEqual(
      [leaf.fileName, other.fileName, top.fileName, 'pyodide-lock.json'].sort(),
    );
    const lock = JSON.parse(readFileSync(join(options.dir, 'pyodide-lock.json'), 'utf8'));
    expect(Object.keys(lock.packages).sort()).toEqual(['custody-leaf', 'custody-other', 'custody-top']);
  });

  it('starts offline from the cache, and without cache or network says which profile lacks what and how to fix it', async () => {
    const policy = { profiles: { analysis: profile(['custody-top']), misc: profile(['custody-other']) } };
    await prepareLocalPythonPackages({ profiles: { analysis: profile(['custody-top']) } }, options);
    rmSync(mirror, { recursive: true });
    const offline = await prepareLocalPythonPackages(policy, options);
    expect(offline.perProfile).toEqual({ analysis: ['custody-leaf', 'custody-top'], misc: [] });
    expect(Object.keys(offline.problems)).toEqual(['misc']);
    expect(offline.problems.misc).toMatch(
      new RegExp(
        `custody-other of profile "misc" from ${pathToFileURL(mirror).href}/${other.fileName}.*CUSTODY_PYODIDE_PACKAGES_URL=URL`,
      ),
    );
    expect(readdirSync(options.dir)).toContain(top.fileName);
  });

  it('makes no folder when no profile has packages', async () => {
    expect(await prepareLocalPythonPackages({ profiles: { plain: profile([]) } }, options)).toEqual({
      perProfile: {},
      problems: {},
    });
  });
});
