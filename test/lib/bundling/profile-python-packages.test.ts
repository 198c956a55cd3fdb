import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { executorBundleCommands } from '../../../lib/bundling/bundle-files.ts';
import { PACKAGE_ROOT } from '../../../lib/bundling/package-paths.ts';
import { pythonPackagesBundling } from '../../../lib/bundling/profile-python-packages.ts';
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
