/**
 * The binaries' fetch, check and cache, on tarballs made here and a lock file written here: what
 * a tarball must match, what the cache spares, what a tampered cache or registry does.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  fileFromTarball,
  hostDenoBinary,
  installBinary,
  LINUX_BINARIES,
  lockedPackage,
  type TarballFetcher,
} from '../../../lib/bundling/npm-binaries.ts';

/** A ustar archive of `files` (name → content), gzipped as npm packs it. */
function tgz(files: Record<string, string | Buffer>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const body = Buffer.from(content);
    const header = Buffer.alloc(512);
    header.write(name, 0, 100, 'utf8');
    header.write('0000755\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
    header.write('00000000000\0', 136);
    header.write('        ', 148);
    header.write('0', 156);
    header.write('ustar\0' + '00', 257);
    const sum = header.reduce((a, b) => a + b, 0);
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

function integrity(data: Buffer): string {
  return `sha512-${createHash('sha512').update(data).digest('base64')}`;
}

let dir: string;
let lockFile: string;
let cacheDir: string;
const armDeno = tgz({ 'package/package.json': '{}', 'package/deno': 'aarch64 deno' });
const armEsbuild = tgz({ 'package/bin/esbuild': 'aarch64 esbuild' });

function writeLock(entries: Record<string, Buffer>): void {
  const packages: Record<string, unknown> = { '': { name: 'x' } };
  for (const [name, data] of Object.entries(entries)) {
    packages[`node_modules/${name}`] = { version: '9.9.9', integrity: integrity(data) };
  }
  writeFileSync(lockFile, JSON.stringify({ lockfileVersion: 3, packages }));
}

/** A registry stand-in serving `tarballs` by name, recording each request. */
function registry(tarballs: Record<string, Buffer>): TarballFetcher & { requests: string[] } {
  const requests: string[] = [];
  const fetcher = (name: string, version: string, destDir: string) => {
    requests.push(`${name}@${version}`);
    const data = tarballs[name];
    if (!data) throw new Error(`no ${name} in this registry`);
    const file = join(destDir, 'packed.tgz');
    writeFileSync(file, data);
    return file;
  };
  return Object.assign(fetcher, { requests });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'custody-npm-binaries-'));
  lockFile = join(dir, 'package-lock.json');
  cacheDir = join(dir, 'cache');
  mkdirSync(join(dir, 'out'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('installBinary', () => {
  it('writes the file from the tarball with mode 755', () => {
    writeLock({ '@deno/linux-arm64-glibc': armDeno });
    const fetcher = registry({ '@deno/linux-arm64-glibc': armDeno });
    const dest = join(dir, 'out', 'deno');
    const pkg = installBinary(LINUX_BINARIES.arm64.deno, dest, { lockFile, cacheDir, fetcher });
    expect(pkg).toEqual({ name: '@deno/linux-arm64-glibc', version: '9.9.9', integrity: integrity(armDeno) });
    expect(readFileSync(dest, 'utf8')).toBe('aarch64 deno');
    expect(statSync(dest).mode & 0o777).toBe(0o755);
    expect(fetcher.requests).toEqual(['@deno/linux-arm64-glibc@9.9.9']);
  });

  it('asks the registry once: the second install comes from the cache', () => {
    writeLock({ '@esbuild/linux-arm64': armEsbuild });
    const fetcher = registry({ '@esbuild/linux-arm64': armEsbuild });
    installBinary(LINUX_BINARIES.arm64.esbuild, join(dir, 'out', 'a'), { lockFile, cacheDir, fetcher });
    const offline: TarballFetcher = () => {
      throw new Error('the registry was asked again');
    };
    installBinary(LINUX_BINARIES.arm64.esbuild, join(dir, 'out', 'b'), {
      lockFile,
      cacheDir,
      fetcher: offline,
    });
    expect(readFileSync(join(dir, 'out', 'b'), 'utf8')).toBe('aarch64 esbuild');
    expect(fetcher.requests).toHaveLength(1);
  });

  it('stops, naming the package, when the registry serves other bytes than the lock records', () => {
    writeLock({ '@deno/linux-arm64-glibc': armDeno });
    const forged = tgz({ 'package/deno': 'a trojan deno' });
    const fetcher = registry({ '@deno/linux-arm64-glibc': forged });
    const dest = join(dir, 'out', 'deno');
    expect(() => installBinary(LINUX_BINARIES.arm64.deno, dest, { lockFile, cacheDir, fetcher })).toThrow(
      /@deno\/linux-arm64-glibc@9\.9\.9 from the registry does not match the integrity in .*package-lock\.json/,
    );
    expect(() => statSync(dest)).toThrow();
    // Nothing unverified is kept: the next try asks the registry again.
    const honest = registry({ '@deno/linux-arm64-glibc': armDeno });
    installBinary(LINUX_BINARIES.arm64.deno, dest, { lockFile, cacheDir, fetcher: honest });
    expect(honest.requests).toHaveLength(1);
  });

  it('stops, naming the package, when a cached tarball was altered', () => {
    writeLock({ '@deno/linux-arm64-glibc': armDeno });
    const fetcher = registry({ '@deno/linux-arm64-glibc': armDeno });
    installBinary(LINUX_BINARIES.arm64.deno, join(dir, 'out', 'a'), { lockFile, cacheDir, fetcher });
    const cached = join(cacheDir, 'deno+linux-arm64-glibc-9.9.9.tgz');
    writeFileSync(cached, tgz({ 'package/deno': 'a trojan deno' }));
    expect(() =>
      installBinary(LINUX_BINARIES.arm64.deno, join(dir, 'out', 'b'), { lockFile, cacheDir, fetcher }),
    ).toThrow(/@deno\/linux-arm64-glibc@9\.9\.9 from the cache .* does not match the integrity/);
  });

  it('stops, naming the package, when the lock file does not list it', () => {
    writeLock({});
    expect(() =>
      installBinary(LINUX_BINARIES.x86_64.esbuild, join(dir, 'out', 'e'), {
        lockFile,
        cacheDir,
        fetcher: registry({}),
      }),
    ).toThrow(/records no version and integrity for @esbuild\/linux-x64/);
  });

  it('stops when the package holds no such file', () => {
    const empty = tgz({ 'package/README.md': 'nothing here' });
    writeLock({ '@deno/linux-arm64-glibc': empty });
    expect(() =>
      installBinary(LINUX_BINARIES.arm64.deno, join(dir, 'out', 'deno'), {
        lockFile,
        cacheDir,
        fetcher: registry({ '@deno/linux-arm64-glibc': empty }),
      }),
    ).toThrow(/@deno\/linux-arm64-glibc@9\.9\.9 holds no deno/);
  });
});

describe('the project lock file', () => {
  it('pins each Linux binary package of both architectures with a sha512 integrity', () => {
    const projectLock = join(process.cwd(), 'package-lock.json');
    for (const binaries of Object.values(LINUX_BINARIES)) {
      for (const binary of [binaries.deno, binaries.esbuild]) {
        expect(lockedPackage(projectLock, binary.packageName).integrity).toMatch(/^sha512-/);
      }
    }
  });
});

describe('fileFromTarball', () => {
  it('finds a file by its path and nothing else', () => {
    const data = tgz({ 'package/a': 'A', 'package/bin/b': 'B' });
    expect(fileFromTarball(data, 'package/bin/b')?.toString()).toBe('B');
    expect(fileFromTarball(data, 'package/b')).toBeUndefined();
  });
});

describe('hostDenoBinary', () => {
  it('names the deno package of each host deno supports, and none for others', () => {
    expect(hostDenoBinary('linux', 'x64')).toEqual({ packageName: '@deno/linux-x64-glibc', file: 'deno' });
    expect(hostDenoBinary('darwin', 'arm64')).toEqual({ packageName: '@deno/darwin-arm64', file: 'deno' });
    expect(hostDenoBinary('win32', 'x64')).toEqual({ packageName: '@deno/win32-x64', file: 'deno.exe' });
    expect(hostDenoBinary('freebsd', 'x64')).toBeUndefined();
  });
});
