/**
 * Loads each bundled JavaScript package once in a fresh QuickJS sandbox, as a run would import
 * it: a package whose module uses a Node global it never imports (`Buffer.from(...)` at load, a
 * `process.nextTick`, `setImmediate`...) passes esbuild but cannot load in the sandbox, so it is
 * refused here, at synth (the asset's afterBundling step) and at local start, naming the profile,
 * the package and the error. A guarded use (`typeof Buffer !== 'undefined'`) loads and passes.
 */
import type { JavaScriptPackage } from '../../lambda/sandbox/quickjs-packages.ts';
import { QuickJsSandbox } from '../../lambda/sandbox/quickjs-sandbox.ts';
import { bundleProfilePackages, JavaScriptPackageError } from './js-packages.ts';

const LOAD_LIMITS = { timeoutMs: 10_000, memoryMiB: 512, maxOutputBytes: 65_536 };

/** Throws a JavaScriptPackageError for the first package of `profile` that does not load. */
export async function checkPackagesLoad(
  profile: string,
  packages: readonly JavaScriptPackage[],
): Promise<void> {
  if (packages.length === 0) return;
  const sandbox = new QuickJsSandbox({ packages: { [profile]: packages } });
  try {
    for (const pkg of packages) {
      const result = await sandbox.run(
        {
          executionId: 'custody-package-load-check',
          language: 'javascript',
          code: `require(${JSON.stringify(pkg.name)}); undefined`,
          limits: LOAD_LIMITS,
        },
        0,
        { profile, prepared: { imports: true } },
      );
      if (result.status !== 'succeeded') {
        const why =
          'error' in result && result.error ? `${result.error.name}: ${result.error.message}` : result.status;
        throw new JavaScriptPackageError(
          `profile "${profile}": JavaScript package "${pkg.name}"@${pkg.version} does not load in the sandbox (${why}); ` +
            'the sandbox has no Node globals or built-ins: choose a package that runs in a browser',
        );
      }
    }
  } finally {
    await sandbox.close();
  }
}

/**
 * The bundles of every profile that declares JavaScript packages, each loaded once in the sandbox
 * (the local server, at start).
 */
export async function loadCheckedProfilePackages(
  profiles: Parameters<typeof bundleProfilePackages>[0],
): Promise<Record<string, readonly JavaScriptPackage[]>> {
  const catalog = bundleProfilePackages(profiles);
  for (const [profile, packages] of Object.entries(catalog)) await checkPackagesLoad(profile, packages);
  return catalog;
}
