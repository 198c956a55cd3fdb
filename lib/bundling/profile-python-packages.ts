/**
 * The hook between a profile's `"python": {"packages": [...]}` and its executor asset (#17).
 *
 * At construct time the names are resolved against the pinned lock (an unknown name stops synth
 * there, before anything is bundled) and turned into what the bundling hook needs and what the
 * asset hash covers; the bundling hook (`bundle-runtime-cli.ts`) then fetches, verifies, caches
 * and lays out the files in `runtime/python-packages/` (pyodide-packages.ts). A profile without
 * packages gets neither: its asset and its hash stay what they were.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Construct } from 'constructs';
import type { Profile } from '../../lambda/core/policy.ts';
import { RUNTIME_LAYOUT } from '../../lambda/sandbox/runtime-files.ts';
import { packageFile } from './package-paths.ts';
import {
  bundlePythonPackages,
  defaultPackagesUrl,
  folderBytes,
  pyodideCacheDir,
  readPyodideLock,
  resolvePythonPackages,
} from './pyodide-packages.ts';

/** The CDK context key naming a mirror or a local folder of the Pyodide distribution. */
const PACKAGES_URL_CONTEXT = 'pyodidePackagesUrl';

/** What the bundling hook is told about a profile's Python packages. */
export interface PythonPackagesBundling {
  readonly profileName: string;
  readonly packages: readonly string[];
  /** @default the jsDelivr distribution of the pinned version */
  readonly packagesUrl?: string;
}

function pyodideDirOf(projectRoot: string): string {
  return dirname(createRequire(join(projectRoot, 'package.json')).resolve('pyodide/package.json'));
}

/**
 * The bundling options and asset-hash input of a profile's Python packages, or nothing when it
 * has none. Throws (at synth) when a name is not in the lock.
 */
export function pythonPackagesBundling(
  scope: Construct,
  projectRoot: string,
  profileName: string,
  profile: Pick<Profile, 'python'>,
): { readonly python?: PythonPackagesBundling; readonly hashInput: string } {
  if (profile.python.packages.length === 0) return { hashInput: '' };
  const { version, lock } = readPyodideLock(pyodideDirOf(projectRoot));
  const resolved = resolvePythonPackages(profile.python.packages, lock, profileName);
  const url: unknown = scope.node.tryGetContext(PACKAGES_URL_CONTEXT);
  if (url !== undefined && typeof url !== 'string') {
    throw new Error(`-c ${PACKAGES_URL_CONTEXT} must be a URL string`);
  }
  const python = { profileName, packages: profile.python.packages, ...(url ? { packagesUrl: url } : {}) };
  // The files are verified against these hashes, so the names and hashes stand for the content;
  // the code that lays them out is hashed too. The URL is not: a mirror serves the same bytes.
  const hashInput = JSON.stringify({
    pyodide: version,
    packages: resolved.map((p) => [p.name, p.version, p.sha256]),
    code: ['lib/bundling/pyodide-packages.ts', 'lib/bundling/profile-python-packages.ts'].map((file) =>
      readFileSync(packageFile(file, projectRoot), 'utf8'),
    ),
  });
  return { python, hashInput };
}

/** The bundling hook's step: `runtime/python-packages/` in `outputDir`, within Lambda's limit. */
export async function bundleProfilePythonPackages(
  inputDir: string,
  outputDir: string,
  python: PythonPackagesBundling,
): Promise<void> {
  const { version, lock } = readPyodideLock(pyodideDirOf(inputDir));
  const bundled = await bundlePythonPackages({
    names: python.packages,
    lock,
    profileName: python.profileName,
    baseUrl: python.packagesUrl ?? defaultPackagesUrl(version),
    cacheDir: pyodideCacheDir(version),
    outDir: join(outputDir, 'runtime', RUNTIME_LAYOUT.pythonPackages),
    otherAssetBytes: folderBytes(outputDir),
  });
  const total = bundled.reduce((sum, p) => sum + p.bytes, 0);
  process.stderr.write(
    `custody: profile "${python.profileName}" bundles ${bundled.length} Python packages, ` +
      `${(total / 1024 / 1024).toFixed(1)} MiB: ${bundled.map((p) => `${p.name} ${p.version}`).join(', ')}\n`,
  );
}
