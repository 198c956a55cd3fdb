/**
 * The executor's runtime folder built for arm64 on this x64 host, as a build host with no deno in
 * node_modules (`npm ci --ignore-scripts`) would: the function's binaries and the host's deno for
 * the snapshot come from the npm registry, and a second build needs no registry at all.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PYODIDE_RUNTIME_FILES, RUNTIME_LAYOUT } from '../../../lambda/sandbox/runtime-files.ts';
import { bundleExecutorRuntime } from '../../../lib/bundling/bundle-files.ts';
import { npmPackFetcher, type TarballFetcher } from '../../../lib/bundling/npm-binaries.ts';
import { ELF_MACHINE, elfMachine } from './elf.ts';

const HOST = { platform: 'linux', arch: 'x64' } as const;

let work: string;
let cacheDir: string;
const requests: string[] = [];
/** The real registry, through npm, with every request recorded. */
const recordingFetcher: TarballFetcher = (name, version, destDir) => {
  requests.push(name);
  return npmPackFetcher(name, version, destDir);
};

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'custody-bundle-files-'));
  cacheDir = join(work, 'cache');
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('bundleExecutorRuntime for arm64 on an x64 host without a deno in node_modules', () => {
  let first: string;
  beforeAll(() => {
    first = join(work, 'first');
    bundleExecutorRuntime({
      inputDir: process.cwd(),
      outputDir: first,
      architecture: 'arm64',
      cacheDir,
      fetcher: recordingFetcher,
      hostDeno: null,
      host: HOST,
    });
  }, 300_000);

  it("ships aarch64 deno and esbuild, executable, and builds the snapshot with the host's fetched deno", () => {
    const runtime = join(first, 'runtime');
    for (const binary of [RUNTIME_LAYOUT.deno, RUNTIME_LAYOUT.esbuild]) {
      expect(elfMachine(join(runtime, binary)), binary).toBe(ELF_MACHINE.aarch64);
      expect(statSync(join(runtime, binary)).mode & 0o777, binary).toBe(0o755);
    }
    expect(statSync(join(runtime, RUNTIME_LAYOUT.snapshot)).size).toBeGreaterThan(1_000_000);
    expect(readdirSync(join(runtime, RUNTIME_LAYOUT.pyodideDir)).sort()).toEqual(
      [...PYODIDE_RUNTIME_FILES].sort(),
    );
    expect(requests.sort()).toEqual([
      '@deno/linux-arm64-glibc',
      '@deno/linux-x64-glibc',
      '@esbuild/linux-arm64',
    ]);
  });

  it('builds again from the cache alone, asking no registry', () => {
    const offline: TarballFetcher = (name) => {
      throw new Error(`the registry was asked for ${name}`);
    };
    const second = join(work, 'second');
    bundleExecutorRuntime({
      inputDir: process.cwd(),
      outputDir: second,
      architecture: 'arm64',
      cacheDir,
      fetcher: offline,
      hostDeno: null,
      host: HOST,
    });
    expect(elfMachine(join(second, 'runtime', RUNTIME_LAYOUT.deno))).toBe(ELF_MACHINE.aarch64);
    expect(statSync(join(second, 'runtime', RUNTIME_LAYOUT.snapshot)).size).toBeGreaterThan(1_000_000);
  }, 300_000);

  it('stops with a clear message where no deno can run to build the snapshot', () => {
    expect(() =>
      bundleExecutorRuntime({
        inputDir: process.cwd(),
        outputDir: join(work, 'third'),
        architecture: 'arm64',
        cacheDir,
        hostDeno: null,
        host: { platform: 'freebsd', arch: 'x64' },
      }),
    ).toThrow(/no deno runs on this build host \(freebsd x64\) to build the Pyodide snapshot/);
  });
});
