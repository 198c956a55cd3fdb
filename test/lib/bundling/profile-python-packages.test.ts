import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it, vi } from 'vitest';
import { executorBundleCommands } from '../../../lib/bundling/bundle-files.ts';
import { PACKAGE_ROOT } from '../../../lib/bundling/package-paths.ts';
import {
  bundleProfilePythonPackages,
  pythonPackagesBundling,
} from '../../../lib/bundling/profile-python-packages.ts';
import { readPyodideLock } from '../../../lib/bundling/pyodide-packages.ts';
import { lockOf, pureWheel } from '../../support/python-wheel.ts';
import { examplePolicy, synthCustody } from '../synth.ts';

function scope(context: Record<string, unknown> = {}): Stack {
  return new Stack(new App({ context }), 'S');
}

const withPackages = (packages: string[]) => ({ python: { packages } });

describe('pythonPackagesBundling', () => {
  it('leaves a profile without packages as it was: no bundling step, nothing added to the hash', () => {
    expect(pythonPackagesBundling(scope(), PACKAGE_ROOT, 'sandbox', withPackages([]))).toEqual({
      hashInput: '',
    });
  });

  it('stops synth at an unknown package name, naming the profile and a near name', () => {
    expect(() => pythonPackagesBundling(scope(), PACKAGE_ROOT, 'analysis', withPackages(['panda']))).toThrow(
      /profile "analysis" names Python packages .*"panda": did you mean pandas/s,
    );
  });

  it('passes the packages and the mirror of -c pyodidePackagesUrl to the bundling hook', () => {
    const url = 'file:///srv/pyodide/';
    const { python, hashInput } = pythonPackagesBundling(
      scope({ pyodidePackagesUrl: url }),
      PACKAGE_ROOT,
      'analysis',
      withPackages(['six']),
    );
    expect(python).toEqual({ profileName: 'analysis', packages: ['six'], packagesUrl: url });
    const [command] = executorBundleCommands('/in', '/out', {
      architecture: 'x86_64',
      ...(python ? { python } : {}),
    });
    const argument = JSON.parse(Buffer.from(command?.split(' ').at(-1) ?? '', 'base64url').toString('utf8'));
    expect(argument.python).toEqual(python);
    expect(hashInput).toContain('"six"');
  });

  it('changes the asset hash with the packages (their lock hashes), not with the mirror', () => {
    const a = pythonPackagesBundling(scope(), PACKAGE_ROOT, 'p', withPackages(['six'])).hashInput;
    const b = pythonPackagesBundling(
      scope({ pyodidePackagesUrl: 'https://mirror/' }),
      PACKAGE_ROOT,
      'p',
      withPackages(['six']),
    );
    const c = pythonPackagesBundling(scope(), PACKAGE_ROOT, 'p', withPackages(['pytz'])).hashInput;
    expect(b.hashInput).toBe(a);
    expect(c).not.toBe(a);
  });

  it('stops the synth of a stack whose policy names an unknown package', () => {
    const policy = examplePolicy();
    const [first] = Object.keys(policy.profiles);
    const profiles = {
      ...policy.profiles,
      [first as string]: { ...policy.profiles[first as string]!, python: { packages: ['numpyy'] } },
    };
    expect(() => synthCustody({ props: { policy: { ...policy, profiles } } })).toThrow(/did you mean numpy/);
  });
});

describe('bundleProfilePythonPackages (the bundling hook step)', () => {
  it("puts the profile's verified packages in runtime/python-packages, from the mirror, into the cache", async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'custody-hook-pypkgs-'));
    try {
      // A package root whose pyodide stands in for the real one: its version and a lock of test wheels.
      const wheel = pureWheel('custody-hook', { 'custody_hook.py': 'X = 1\n' });
      const real = readPyodideLock(join(PACKAGE_ROOT, 'node_modules', 'pyodide'));
      const input = join(scratch, 'root');
      const pyodide = join(input, 'node_modules', 'pyodide');
      mkdirSync(pyodide, { recursive: true });
      writeFileSync(join(input, 'package.json'), '{"name":"root"}');
      writeFileSync(
        join(pyodide, 'package.json'),
        JSON.stringify({ name: 'pyodide', version: real.version }),
      );
      writeFileSync(join(pyodide, 'pyodide-lock.json'), JSON.stringify(lockOf(real.lock.info, [wheel])));
      const mirror = join(scratch, 'mirror');
      mkdirSync(mirror);
      writeFileSync(join(mirror, wheel.fileName), wheel.bytes);
      const output = join(scratch, 'asset');
      mkdirSync(join(output, 'runtime'), { recursive: true });
      vi.stubEnv('CUSTODY_CACHE_DIR', join(scratch, 'cache'));
      await bundleProfilePythonPackages(input, output, {
        profileName: 'analysis',
        packages: ['custody-hook'],
        packagesUrl: pathToFileURL(mirror).href,
      });
      expect(readdirSync(join(output, 'runtime', 'python-packages')).sort()).toEqual(
        [wheel.fileName, 'pyodide-lock.json'].sort(),
      );
      expect(readdirSync(join(scratch, 'cache', 'pyodide', real.version))).toEqual([wheel.fileName]);
    } finally {
      vi.unstubAllEnvs();
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('the executor bundling hook with a profile that bundles Python packages', () => {
  it('stops the bundling (and so synth) at a file that does not match the lock, naming the package and both hashes', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'custody-hook-tamper-'));
    try {
      // The real lock's six, served by a mirror holding other bytes under its file name.
      const six = readPyodideLock(join(PACKAGE_ROOT, 'node_modules', 'pyodide')).lock.packages.six;
      if (!six) throw new Error('the pinned lock has no six');
      const mirror = join(scratch, 'mirror');
      mkdirSync(mirror);
      writeFileSync(join(mirror, six.file_name), 'not the wheel the lock pins');
      const output = join(scratch, 'asset');
      mkdirSync(output);
      const [command] = executorBundleCommands(PACKAGE_ROOT, output, {
        architecture: 'x86_64',
        python: { profileName: 'analysis', packages: ['six'], packagesUrl: pathToFileURL(mirror).href },
      });
      const result = spawnSync(command as string, {
        shell: '/bin/bash',
        encoding: 'utf8',
        env: { ...process.env, CUSTODY_CACHE_DIR: join(scratch, 'cache') },
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(
        new RegExp(
          `Python package six \\(${six.file_name}\\) of profile "analysis" .*sha256 [0-9a-f]{64}, the lock says ${six.sha256}`,
        ),
      );
      expect(existsSync(join(output, 'runtime', 'python-packages'))).toBe(false);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 300_000);
});
