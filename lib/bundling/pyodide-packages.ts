/**
 * Pyodide packages of a profile, resolved, fetched, verified and laid out at synth (#17).
 *
 * Names resolve, with their dependencies, against the `pyodide-lock.json` of the pinned `pyodide`
 * npm package. Each file is fetched from a base URL (default: the jsDelivr Pyodide distribution of
 * that version; `-c pyodidePackagesUrl=URL` names a mirror, `file:///folder` a local copy),
 * verified against the lock's sha256 (a mismatch stops synth, naming the package and both
 * hashes), and kept in a cache on the build machine:
 *
 *   ${CUSTODY_CACHE_DIR:-~/.cache/custody}/pyodide/<version>/<file_name>
 *
 * A cached file is checked again every time it is used; a corrupt one is fetched again. So a
 * second synth needs no network. The folder this module writes (`python-packages/` beside the
 * executor's runtime) holds the wheels and a `pyodide-lock.json` naming only them: at run time
 * Pyodide loads from it and from nothing else (python-host.mjs).
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Lambda's limit on a function's unzipped code (the asset), in bytes. */
const LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024;

/** One entry of `pyodide-lock.json` (the fields custody reads; the rest are kept as they are). */
export interface PyodideLockPackage {
  readonly name: string;
  readonly version: string;
  readonly file_name: string;
  readonly sha256: string;
  readonly depends: readonly string[];
  readonly imports: readonly string[];
  readonly [field: string]: unknown;
}

export interface PyodideLock {
  readonly info: Readonly<Record<string, unknown>>;
  readonly packages: Readonly<Record<string, PyodideLockPackage>>;
}

/** Thrown at synth when a profile's Python packages cannot be resolved, fetched, verified or fit. */
export class PythonPackageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PythonPackageError';
  }
}

/** The jsDelivr Pyodide distribution of `version` (what Pyodide itself fetches from by default). */
export function defaultPackagesUrl(version: string): string {
  return `https://cdn.jsdelivr.net/pyodide/v${version}/full/`;
}

/** The build machine's cache of verified Pyodide files for `version`. */
export function pyodideCacheDir(version: string, env: NodeJS.ProcessEnv = process.env): string {
  const root = env.CUSTODY_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'custody');
  return join(root, 'pyodide', version);
}

/** PEP 503 normalization: how the lock's keys are spelled. */
export function normalized(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/** Lock names near `name`: one that provides it as an import, then close spellings. */
function nearNames(name: string, lock: PyodideLock): string[] {
  const wanted = normalized(name);
  const byImport = Object.values(lock.packages)
    .filter((p) => p.imports.some((i) => normalized(i) === wanted))
    .map((p) => p.name);
  const close = Object.keys(lock.packages)
    .map((key) => ({ key, distance: editDistance(wanted, key) }))
    .filter(
      ({ key, distance }) => distance <= Math.max(1, Math.floor(wanted.length / 4)) || key.startsWith(wanted),
    )
    .sort((a, b) => a.distance - b.distance || a.key.localeCompare(b.key))
    .map(({ key }) => key);
  return [...new Set([...byImport, ...close])].slice(0, 5);
}

/**
 * The lock entries of `names` and of everything they depend on, sorted by name. Throws naming
 * the profile and each unknown name, with the lock's nearest names.
 */
export function resolvePythonPackages(
  names: readonly string[],
  lock: PyodideLock,
  profileName: string,
): PyodideLockPackage[] {
  const unknown = names.filter((n) => !lock.packages[normalized(n)]);
  if (unknown.length > 0) {
    const python = typeof lock.info.python === 'string' ? ` (Python ${lock.info.python})` : '';
    const lines = unknown.map((n) => {
      const near = nearNames(n, lock);
      return `  ${JSON.stringify(n)}${near.length > 0 ? `: did you mean ${near.join(', ')}?` : ''}`;
    });
    throw new PythonPackageError(
      `profile "${profileName}" names Python packages that this Pyodide${python} does not have:\n${lines.join('\n')}\n` +
        'Names are those of pyodide-lock.json in the pyodide npm package (node_modules/pyodide).',
    );
  }
  const found = new Map<string, PyodideLockPackage>();
  const pending = names.map(normalized);
  while (pending.length > 0) {
    const key = pending.pop() as string;
    if (found.has(key)) continue;
    const entry = lock.packages[key];
    if (!entry) {
      throw new PythonPackageError(
        `pyodide-lock.json names a dependency ${JSON.stringify(key)} it does not hold`,
      );
    }
    found.set(key, entry);
    pending.push(...entry.depends.map(normalized));
  }
  return [...found.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, entry]) => entry);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function fetchFile(url: URL): Promise<Uint8Array> {
  if (url.protocol === 'file:') return readFileSync(fileURLToPath(url));
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`unsupported URL scheme ${url.protocol} (use https://, http:// or file://)`);
  }
  const response = await fetch(url, { signal: AbortSignal.timeout(300_000) });
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

export interface FetchPackagesOptions {
  /** Where the files are: a folder URL (http(s):// or file://). */
  readonly baseUrl: string;
  readonly cacheDir: string;
  /** The profile the packages are for (named in every error). */
  readonly profileName: string;
}

function folderUrl(base: string): URL {
  try {
    return new URL(base.endsWith('/') ? base : `${base}/`);
  } catch {
    throw new PythonPackageError(
      `pyodidePackagesUrl ${JSON.stringify(base)} is not a URL: give https://host/folder/ or file:///folder`,
    );
  }
}

/**
 * The cached, verified file of `pkg`: from the cache when its sha256 is the lock's, else fetched
 * from `baseUrl`, verified, and written to the cache (atomically). Returns its path.
 */
export async function verifiedPackageFile(
  pkg: PyodideLockPackage,
  options: FetchPackagesOptions,
): Promise<string> {
  if (!/^[\w.+-]+$/.test(pkg.file_name) || pkg.file_name.startsWith('.')) {
    throw new PythonPackageError(
      `pyodide-lock.json gives ${pkg.name} an unsafe file name ${JSON.stringify(pkg.file_name)}`,
    );
  }
  const cached = join(options.cacheDir, pkg.file_name);
  if (existsSync(cached)) {
    if (sha256(readFileSync(cached)) === pkg.sha256) return cached;
    rmSync(cached, { force: true }); // corrupt or truncated: fetched again below
  }
  const url = new URL(pkg.file_name, folderUrl(options.baseUrl));
  let bytes: Uint8Array;
  try {
    bytes = await fetchFile(url);
  } catch (cause) {
    throw new PythonPackageError(
      `could not fetch the Python package ${pkg.name} of profile "${options.profileName}" from ${url.href}: ` +
        `${(cause as Error).message}. The build machine needs the Pyodide distribution or a mirror of it: ` +
        'pass -c pyodidePackagesUrl=URL (https://mirror/folder/ or file:///folder holding the files of pyodide-lock.json), ' +
        `or synth once where it is reachable (files are cached in ${options.cacheDir}).`,
      { cause },
    );
  }
  const actual = sha256(bytes);
  if (actual !== pkg.sha256) {
    throw new PythonPackageError(
      `the Python package ${pkg.name} (${pkg.file_name}) of profile "${options.profileName}" from ${url.href} ` +
        `does not match pyodide-lock.json: sha256 ${actual}, the lock says ${pkg.sha256}. Nothing was bundled.`,
    );
  }
  mkdirSync(options.cacheDir, { recursive: true });
  const temp = `${cached}.${process.pid}.tmp`;
  writeFileSync(temp, bytes);
  renameSync(temp, cached);
  return cached;
}

/** Bytes of every file under `dir`. */
export function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export interface BundlePythonPackagesOptions extends FetchPackagesOptions {
  readonly names: readonly string[];
  readonly lock: PyodideLock;
  /** The folder to fill (`runtime/python-packages`); created. */
  readonly outDir: string;
  /** Bytes the rest of the asset takes already (counted against Lambda's limit). @default 0 */
  readonly otherAssetBytes?: number;
  /** @default LAMBDA_UNZIPPED_LIMIT_BYTES */
  readonly limitBytes?: number;
}

export interface BundledPythonPackage {
  readonly name: string;
  readonly version: string;
  readonly bytes: number;
}

/**
 * Fills `outDir` with the verified files of `names` and their dependencies, and a lock file that
 * names only them. Refuses (before writing) a set that would take the asset over the limit,
 * saying what each package costs.
 */
export async function bundlePythonPackages(
  options: BundlePythonPackagesOptions,
): Promise<BundledPythonPackage[]> {
  const entries = resolvePythonPackages(options.names, options.lock, options.profileName);
  const files: { entry: PyodideLockPackage; path: string; bytes: number }[] = [];
  for (const entry of entries) {
    const path = await verifiedPackageFile(entry, options);
    files.push({ entry, path, bytes: statSync(path).size });
  }
  const limit = options.limitBytes ?? LAMBDA_UNZIPPED_LIMIT_BYTES;
  const other = options.otherAssetBytes ?? 0;
  const packagesBytes = files.reduce((sum, f) => sum + f.bytes, 0);
  if (other + packagesBytes > limit) {
    const costs = [...files]
      .sort((a, b) => b.bytes - a.bytes)
      .map((f) => `  ${f.entry.name} ${f.entry.version}: ${mebibytes(f.bytes)}`);
    throw new PythonPackageError(
      `the executor of profile "${options.profileName}" would be ${mebibytes(other + packagesBytes)} unzipped, ` +
        `over Lambda's ${mebibytes(limit)}: the runtime takes ${mebibytes(other)}, the Python packages ` +
        `${mebibytes(packagesBytes)}:\n${costs.join('\n')}\nDrop some of them from "python": {"packages": [...]}.`,
    );
  }
  rmSync(options.outDir, { recursive: true, force: true });
  mkdirSync(options.outDir, { recursive: true });
  const packages: Record<string, PyodideLockPackage> = {};
  for (const { entry, path } of files) {
    writeFileSync(join(options.outDir, entry.file_name), readFileSync(path));
    packages[normalized(entry.name)] = entry;
  }
  writeFileSync(
    join(options.outDir, 'pyodide-lock.json'),
    `${JSON.stringify({ info: options.lock.info, packages }, null, 1)}\n`,
  );
  return files.map((f) => ({ name: f.entry.name, version: f.entry.version, bytes: f.bytes }));
}

/** The lock file of the `pyodide` package in `pyodideDir`, and its version. */
export function readPyodideLock(pyodideDir: string): { version: string; lock: PyodideLock } {
  const pkg = JSON.parse(readFileSync(join(pyodideDir, 'package.json'), 'utf8')) as { version: string };
  const lock = JSON.parse(readFileSync(join(pyodideDir, 'pyodide-lock.json'), 'utf8')) as PyodideLock;
  return { version: pkg.version, lock };
}
