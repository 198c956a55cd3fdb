/**
 * The executor asset as `cdk synth` stages it, bundled for real on this x64 host: the Linux
 * binaries of the function's architecture, and an asset hash that two synths of the same inputs
 * share although the Pyodide snapshot inside differs from build to build.
 *
 * Three bundled synths (default twice, arm64 once): slow, so every test of the first group reads
 * these three. Then a `cdk synth` whose cached deno was tampered with.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNTIME_LAYOUT } from '../../../lambda/sandbox/runtime-files.ts';
import type { FunctionArchitecture } from '../../../lib/bundling/architecture.ts';
import { executorAssetHash, executorInputHash } from '../../../lib/bundling/executor-asset-hash.ts';
import { lockedPackage } from '../../../lib/bundling/npm-binaries.ts';
import { executorFunction, PROJECT_ROOT, synthCustody } from '../synth.ts';
import { ELF_MACHINE, elfMachine } from './elf.ts';

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

describe('executorAssetHash', () => {
  /** A copy of the project's inputs (node_modules linked) whose files a test may change. */
  function projectCopy(name: string): string {
    const root = path.join(work, name);
    mkdirSync(root);
    for (const item of ['lambda', 'lib/bundling', 'package.json', 'package-lock.json', 'tsconfig.json']) {
      cpSync(path.join(PROJECT_ROOT, item), path.join(root, item), { recursive: true });
    }
    symlinkSync(realpathSync(path.join(PROJECT_ROOT, 'node_modules')), path.join(root, 'node_modules'));
    return root;
  }
  const entry = 'lambda/handlers/executor.ts';

  it('changes when a bundled source file, the Deno host script or the lock file changes', () => {
    const root = projectCopy('inputs');
    const hash = () => executorInputHash({ projectRoot: root, entry, architecture: 'x86_64' });
    const seen = new Set([hash()]);
    expect(seen.has(hash())).toBe(true);
    const edits: Array<[string, (text: string) => string]> = [
      ['lambda/sandbox/runtime-files.ts', (t) => `${t}\n// changed\n`],
      ['lambda/sandbox/python-host.mjs', (t) => `${t}\n// changed\n`],
      ['package-lock.json', (t) => t.replace('"name": "custody"', '"name": "custody-changed"')],
    ];
    for (const [file, edit] of edits) {
      const full = path.join(root, file);
      writeFileSync(full, edit(readFileSync(full, 'utf8')));
      const changed = hash();
      expect(seen.has(changed), file).toBe(false);
      seen.add(changed);
    }
  }, 120_000);

  it('differs for another entry file', () => {
    const options = { projectRoot: PROJECT_ROOT, architecture: 'x86_64' } as const;
    expect(executorAssetHash({ ...options, entry })).not.toBe(
      executorAssetHash({ ...options, entry: 'lambda/handlers/broker.ts' }),
    );
  });
});
