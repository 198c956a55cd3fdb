/**
 * The Python packages of `npm start` (#17): the same resolution, sources, verification and cache
 * as synth (pyodide-packages.ts), laid out once in `.custody/python-packages/` for every profile.
 *
 * Local mode runs every profile on one sandbox, so the folder holds the packages of all of them;
 * each run is told which its profile may load (`PythonSandboxOptions.pythonPackages`), and an
 * import of another profile's package is refused as on AWS. (The code of a run could still read
 * the other profiles' wheel files: local mode is one machine; on AWS each executor's asset holds
 * its own profile's packages only.)
 *
 * A profile whose packages cannot be had (no cache, no network) does not stop the server: it
 * starts, says which profile lacks what and how to fix it, and that profile runs code that imports
 * nothing extra; an import of a missing package fails saying so.
 */
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Policy } from '../../lambda/core/policy.ts';
import {
  defaultPackagesUrl,
  normalized,
  type PyodideLockPackage,
  pyodideCacheDir,
  readPyodideLock,
  resolvePythonPackages,
  verifiedPackageFile,
} from './pyodide-packages.ts';

/** The environment variable that names a mirror for `npm start` (as `-c pyodidePackagesUrl` does for synth). */
const LOCAL_PACKAGES_URL_ENV = 'CUSTODY_PYODIDE_PACKAGES_URL';

export interface LocalPythonPackages {
  /** The folder (wheels + a lock naming them), or undefined when no profile has packages. */
  readonly dir?: string;
  /** Profile -> the packages (with dependencies) it may load. */
  readonly perProfile: Readonly<Record<string, readonly string[]>>;
  /** Profile -> why its packages are missing (printed at start; the profile runs without them). */
  readonly problems: Readonly<Record<string, string>>;
}

export interface LocalPythonPackagesOptions {
  /** Where to lay the folder out (`.custody/python-packages`). */
  readonly dir: string;
  /** @default LOCAL_PACKAGES_URL_ENV, else the jsDelivr distribution */
  readonly baseUrl?: string;
  /** @default pyodideCacheDir(version) */
  readonly cacheDir?: string;
  /** @default the pyodide package of this checkout */
  readonly pyodideDir?: string;
}

/** Resolves and fetches (or takes from the cache) every profile's packages, and lays them out. */
export async function prepareLocalPythonPackages(
  policy: Pick<Policy, 'profiles'>,
  options: LocalPythonPackagesOptions,
): Promise<LocalPythonPackages> {
  const pyodideDir =
    options.pyodideDir ?? dirname(createRequire(import.meta.url).resolve('pyodide/package.json'));
  const { version, lock } = readPyodideLock(pyodideDir);
  const baseUrl = options.baseUrl ?? (process.env[LOCAL_PACKAGES_URL_ENV] || defaultPackagesUrl(version));
  const cacheDir = options.cacheDir ?? pyodideCacheDir(version);
  const perProfile: Record<string, readonly string[]> = {};
  const problems: Record<string, string> = {};
  const files = new Map<string, { entry: PyodideLockPackage; path: string }>();
  for (const [profileName, profile] of Object.entries(policy.profiles)) {
    if (profile.python.packages.length === 0) continue;
    try {
      const entries = resolvePythonPackages(profile.python.packages, lock, profileName);
      const paths: { entry: PyodideLockPackage; path: string }[] = [];
      for (const entry of entries) {
        paths.push({ entry, path: await verifiedPackageFile(entry, { baseUrl, cacheDir, profileName }) });
      }
      for (const found of paths) files.set(normalized(found.entry.name), found);
      perProfile[profileName] = entries.map((e) => normalized(e.name));
    } catch (error) {
      perProfile[profileName] = [];
      problems[profileName] =
        `${(error as Error).message} For npm start, ${LOCAL_PACKAGES_URL_ENV}=URL names a mirror or a file:/// folder.`;
    }
  }
  if (Object.keys(perProfile).length === 0) return { perProfile, problems };
  rmSync(options.dir, { recursive: true, force: true });
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const packages: Record<string, PyodideLockPackage> = {};
  for (const [key, { entry, path }] of files) {
    copyFileSync(path, join(options.dir, entry.file_name));
    packages[key] = entry;
  }
  writeFileSync(join(options.dir, 'pyodide-lock.json'), `${JSON.stringify({ info: lock.info, packages })}\n`);
  return { dir: options.dir, perProfile, problems };
}
