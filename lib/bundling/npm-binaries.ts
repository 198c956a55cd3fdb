/**
 * The native binaries the executor ships (deno, esbuild), taken from the npm registry by the
 * exact version and integrity package-lock.json records, whatever OS and CPU builds the asset.
 *
 * A package's tarball is fetched once (by default `npm pack NAME@VERSION`), checked against the
 * lock's sha512 integrity, and kept in a cache folder; every later use checks the cached tarball
 * against the lock again before one file is taken out of it. A mismatch stops the build, naming
 * the package. This runs at build time only (cdk synth), never in Lambda.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** The function architectures custody deploys (Lambda's names). */
export type FunctionArchitecture = 'x86_64' | 'arm64';

export const FUNCTION_ARCHITECTURES: readonly FunctionArchitecture[] = ['x86_64', 'arm64'];

/** A binary inside an npm package: the package's name and the file's path inside its tarball. */
export interface NpmBinary {
  readonly packageName: string;
  /** Path inside the package folder, e.g. `bin/esbuild`. */
  readonly file: string;
}

/** The Linux deno and esbuild packages of a CPU, as npm names it (glibc: Amazon Linux 2023). */
function linuxBinaries(cpu: 'x64' | 'arm64'): { readonly deno: NpmBinary; readonly esbuild: NpmBinary } {
  return {
    deno: { packageName: `@deno/linux-${cpu}-glibc`, file: 'deno' },
    esbuild: { packageName: `@esbuild/linux-${cpu}`, file: 'bin/esbuild' },
  };
}

/** The Linux binaries of each function architecture. */
export const LINUX_BINARIES: Readonly<
  Record<FunctionArchitecture, { readonly deno: NpmBinary; readonly esbuild: NpmBinary }>
> = {
  x86_64: linuxBinaries('x64'),
  arm64: linuxBinaries('arm64'),
};

/** The deno package for a host (`process.platform`, `process.arch`), or undefined if there is none. */
export function hostDenoBinary(platform: string, arch: string): NpmBinary | undefined {
  const exe = platform === 'win32' ? 'deno.exe' : 'deno';
  const target =
    platform === 'linux' && (arch === 'x64' || arch === 'arm64')
      ? `linux-${arch}-glibc`
      : (platform === 'darwin' || platform === 'win32') && (arch === 'x64' || arch === 'arm64')
        ? `${platform}-${arch}`
        : undefined;
  return target ? { packageName: `@deno/${target}`, file: exe } : undefined;
}

/** What package-lock.json records for a package. */
export interface LockedPackage {
  readonly name: string;
  readonly version: string;
  /** `sha512-<base64>` */
  readonly integrity: string;
}

export class BinaryFetchError extends Error {
  override readonly name = 'BinaryFetchError';
}

/** Reads a package's exact version and integrity from a package-lock.json (lockfileVersion 2 or 3). */
export function lockedPackage(lockFile: string, name: string): LockedPackage {
  let lock: { packages?: Record<string, { version?: unknown; integrity?: unknown }> };
  try {
    lock = JSON.parse(readFileSync(lockFile, 'utf8'));
  } catch (err) {
    throw new BinaryFetchError(`cannot read ${lockFile}: ${(err as Error).message}`);
  }
  const entry = lock.packages?.[`node_modules/${name}`];
  if (typeof entry?.version !== 'string' || typeof entry.integrity !== 'string') {
    throw new BinaryFetchError(
      `${lockFile} records no version and integrity for ${name}; run npm install so the lock file lists it`,
    );
  }
  if (!entry.integrity.startsWith('sha512-')) {
    throw new BinaryFetchError(`${lockFile} records no sha512 integrity for ${name}@${entry.version}`);
  }
  return { name, version: entry.version, integrity: entry.integrity };
}

/**
 * Puts the tarball of `name@version` into `destDir` and returns its path. The default asks npm,
 * which goes to the registry configured for the project (and npm's own cache).
 */
export type TarballFetcher = (name: string, version: string, destDir: string) => string;

export const npmPackFetcher: TarballFetcher = (name, version, destDir) => {
  const result = spawnSync('npm', ['pack', `${name}@${version}`, '--json', '--pack-destination', destDir], {
    encoding: 'utf8',
    // npm is npm.cmd on Windows, which only a shell runs.
    shell: process.platform === 'win32',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (result.error || result.status !== 0) {
    throw new BinaryFetchError(
      `npm pack ${name}@${version} failed (${result.error?.message ?? `exit ${result.status}`}): ${result.stderr.trim()}`,
    );
  }
  const packed = JSON.parse(result.stdout) as Array<{ filename: string }>;
  const filename = packed[0]?.filename;
  if (!filename) throw new BinaryFetchError(`npm pack ${name}@${version} named no tarball`);
  // npm names a scoped package's tarball without the @ and with - for /.
  return join(destDir, filename.replace(/^@/, '').replace('/', '-'));
};

export interface BinaryCacheOptions {
  readonly lockFile: string;
  /** Where verified tarballs are kept between builds. */
  readonly cacheDir: string;
  /** @default npmPackFetcher */
  readonly fetcher?: TarballFetcher;
}

function integrityOf(data: Buffer): string {
  return `sha512-${createHash('sha512').update(data).digest('base64')}`;
}

function cacheFileName(pkg: LockedPackage): string {
  return `${pkg.name.replace(/^@/, '').replace('/', '+')}-${pkg.version}.tgz`;
}

/**
 * The verified tarball of `name` at the version package-lock.json pins: from the cache, or
 * fetched and then cached. Throws naming the package when a tarball does not match the lock.
 */
function verifiedTarball(name: string, options: BinaryCacheOptions): { pkg: LockedPackage; data: Buffer } {
  const pkg = lockedPackage(options.lockFile, name);
  const cached = join(options.cacheDir, cacheFileName(pkg));
  const mismatch = (where: string, actual: string) =>
    new BinaryFetchError(
      `${pkg.name}@${pkg.version} from ${where} does not match the integrity in ${options.lockFile} ` +
        `(expected ${pkg.integrity}, got ${actual})`,
    );
  if (existsSync(cached)) {
    const data = readFileSync(cached);
    const actual = integrityOf(data);
    if (actual !== pkg.integrity) {
      throw mismatch(`the cache (${cached}; delete it to fetch the package again)`, actual);
    }
    return { pkg, data };
  }
  mkdirSync(options.cacheDir, { recursive: true });
  const staging = mkdtempSync(join(options.cacheDir, '.fetch-'));
  try {
    const fetched = (options.fetcher ?? npmPackFetcher)(pkg.name, pkg.version, staging);
    const data = readFileSync(fetched);
    const actual = integrityOf(data);
    if (actual !== pkg.integrity) throw mismatch('the registry', actual);
    writeFileSync(join(staging, 'verified.tgz'), data);
    renameSync(join(staging, 'verified.tgz'), cached);
    return { pkg, data };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** One regular file out of a gzipped tar (ustar, with GNU long names and pax headers). */
export function fileFromTarball(tgz: Buffer, wanted: string): Buffer | undefined {
  const tar = gunzipSync(tgz);
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number) =>
      header.toString('utf8', start, start + length).replace(/\0.*$/s, '');
    const size = Number.parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    const body = tar.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = body.toString('utf8').replace(/\0.*$/s, '');
      continue;
    }
    if (type === 'x') {
      const path = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
      longName = path?.[1];
      continue;
    }
    const prefix = field(345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = undefined;
    if ((type === '0' || type === '' || type === '\0') && name === wanted) return Buffer.from(body);
  }
  return undefined;
}

/**
 * Writes `binary`'s file, from its verified tarball, to `dest` with mode 755. npm tarballs keep
 * a package's files under `package/`.
 */
export function installBinary(binary: NpmBinary, dest: string, options: BinaryCacheOptions): LockedPackage {
  const { pkg, data } = verifiedTarball(binary.packageName, options);
  const file = fileFromTarball(data, `package/${binary.file}`);
  if (!file) {
    throw new BinaryFetchError(`${pkg.name}@${pkg.version} holds no ${binary.file}`);
  }
  writeFileSync(dest, file, { mode: 0o755 });
  chmodSync(dest, 0o755);
  return pkg;
}
