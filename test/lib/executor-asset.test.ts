/**
 * The executor asset as `cdk synth` stages it, bundled for real on this x64 host: the Linux
 * binaries of the function's architecture, and an asset hash that two synths of the same inputs
 * share although the Pyodide snapshot inside differs from build to build.
 *
 * Three bundled synths (default twice, arm64 once): slow, so every test of the first group reads
 * these three. Then a `cdk synth` whose cached deno was tampered with.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockedPackage } from '../../lambda/executor/npm-binaries.ts';
import { RUNTIME_LAYOUT } from '../../lambda/sandbox/runtime-files.ts';
import type { FunctionArchitecture } from '../../lib/architecture.ts';
import { executorAssetHash } from '../../lib/executor-asset-hash.ts';
import { ELF_MACHINE, elfMachine } from '../executor/elf.ts';
import { executorFunction, PROJECT_ROOT, synthCustody } from './synth.ts';

interface StagedExecutor {
  /** The asset hash CDK gave the executor (its S3 key without `.zip`). */
  readonly hash: string;
  /** The staged asset folder. */
  readonly dir: string;
}

let work: string;

function synthExecutor(name: string, architecture?: FunctionArchitecture): StagedExecutor {
  const outdir = path.join(work, name);
  const { json } = synthCustody({
    bundle: true,
    outdir,
    props: architecture ? { architecture } : {},
  });
  const [, fn] = executorFunction(json, 'sandbox');
  const key = (fn.Properties.Code as { S3Key: string }).S3Key;
  const hash = key.replace(/\.zip$/, '');
  return { hash, dir: path.join(outdir, `asset.${hash}`) };
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'custody-executor-asset-'));
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('the executor asset', () => {
  let first: StagedExecutor;
  let second: StagedExecutor;
  let arm: StagedExecutor;
  beforeAll(() => {
    first = synthExecutor('first');
    second = synthExecutor('second');
    arm = synthExecutor('arm', 'arm64');
  }, 900_000);

  it('carries x86-64 deno and esbuild by default', () => {
    expect(elfMachine(path.join(first.dir, 'runtime', RUNTIME_LAYOUT.deno))).toBe(ELF_MACHINE.x86_64);
    expect(elfMachine(path.join(first.dir, 'runtime', RUNTIME_LAYOUT.esbuild))).toBe(ELF_MACHINE.x86_64);
  });

  it('carries aarch64 deno and esbuild for architecture arm64, built on this x64 host', () => {
    expect(elfMachine(path.join(arm.dir, 'runtime', RUNTIME_LAYOUT.deno))).toBe(ELF_MACHINE.aarch64);
    expect(elfMachine(path.join(arm.dir, 'runtime', RUNTIME_LAYOUT.esbuild))).toBe(ELF_MACHINE.aarch64);
  });

  it('keeps its hash from one synth to the next, though the snapshot bytes differ', () => {
    const snapshot = (staged: StagedExecutor) =>
      readFileSync(path.join(staged.dir, 'runtime', RUNTIME_LAYOUT.snapshot));
    // What makes a hash of the output useless: the same inputs give another snapshot.
    expect(snapshot(first).equals(snapshot(second))).toBe(false);
    expect(second.hash).toBe(first.hash);
  });

  it('changes its hash when an input changes: the architecture', () => {
    expect(arm.hash).not.toBe(first.hash);
  });

  it('is hashed over its inputs: another entry file gives another input hash', () => {
    const options = { projectRoot: process.cwd(), architecture: 'x86_64' } as const;
    expect(executorAssetHash({ ...options, entry: 'lambda/executor/handler.ts' })).not.toBe(
      executorAssetHash({ ...options, entry: 'lambda/broker/handler.ts' }),
    );
  });
});

describe('`cdk synth` with a cached binary that does not match package-lock.json', () => {
  it('stops, naming the package', () => {
    const cache = path.join(work, 'tampered-cache');
    mkdirSync(cache);
    const { version } = lockedPackage(path.join(PROJECT_ROOT, 'package-lock.json'), '@deno/linux-x64-glibc');
    writeFileSync(path.join(cache, `deno+linux-x64-glibc-${version}.tgz`), 'not the tarball npm published');
    const result = spawnSync(
      path.join(PROJECT_ROOT, 'node_modules/.bin/cdk'),
      ['synth', '--quiet', '-o', path.join(work, 'tampered.out')],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true', CUSTODY_BINARY_CACHE: cache },
        encoding: 'utf8',
        timeout: 300_000,
      },
    );
    expect(result.status).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toMatch(
      new RegExp(
        `@deno/linux-x64-glibc@${version.replaceAll('.', '\\.')} from the cache .* does not match the integrity`,
      ),
    );
  }, 300_000);
});
