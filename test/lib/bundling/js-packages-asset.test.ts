/**
 * The executor assets as synth stages them (esbuild for real; the Deno and Pyodide runtime left
 * out with `bundleCommands`): the JavaScript bundles of a profile are in that profile's asset
 * only, as the manifest records them, and the executor refuses a folder whose file was changed.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../../lambda/core/policy.ts';
import { PACKAGE_MANIFEST, readPackageFolder } from '../../../lambda/sandbox/js-package-folder.ts';
import { QuickJsSandbox } from '../../../lambda/sandbox/quickjs-sandbox.ts';
import { profileJavaScriptPackages } from '../../../lib/bundling/js-packages-asset.ts';
import { ProfileExecutor } from '../../../lib/executors.ts';
import { CustodyNetwork } from '../../../lib/network.ts';
import { LIMITS } from '../../sandbox/helpers.ts';
import { createApp, executorFunction } from '../synth.ts';
import { fixtureProject } from './js-package-fixtures.ts';

const policy = parsePolicy({
  version: 1,
  profiles: {
    csv: { languages: ['javascript', 'typescript'], javascript: { packages: ['papaparse'] } },
    plain: { languages: ['javascript'] },
  },
  principals: [],
});

let outdir: string;
let assets: Record<'csv' | 'plain', string>;
let csvExecutor: ProfileExecutor;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'custody-js-asset-'));
  const app = createApp({ bundle: true, outdir });
  const stack = new Stack(app, 'Packages');
  const network = new CustodyNetwork(stack, 'Network', {
    flowLogRetention: logs.RetentionDays.ONE_DAY,
    logRemovalPolicy: RemovalPolicy.DESTROY,
  });
  const executors = Object.entries(policy.profiles).map(
    ([profileName, profile]) =>
      new ProfileExecutor(stack, `Executor-${profileName}`, {
        profileName,
        profile,
        network,
        logRetention: logs.RetentionDays.ONE_DAY,
        logRemovalPolicy: RemovalPolicy.DESTROY,
        bundleCommands: () => [],
      }),
  );
  csvExecutor = executors[0] as ProfileExecutor;
  const json = app.synth().getStackByName('Packages').template as Parameters<typeof executorFunction>[0];
  const assetOf = (profile: string) => {
    const [, fn] = executorFunction(json, profile);
    const key = (fn.Properties.Code as { S3Key: string }).S3Key;
    return join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
  };
  assets = { csv: assetOf('csv'), plain: assetOf('plain') };
}, 120_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('JavaScript packages in the executor asset', () => {
  it('puts the bundle into its profile’s asset only, as the manifest records it', () => {
    const folder = join(assets.csv, 'runtime/js-packages');
    const manifest = JSON.parse(readFileSync(join(folder, PACKAGE_MANIFEST), 'utf8'));
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
    expect(manifest).toEqual([
      {
        name: 'papaparse',
        version: lock.packages['node_modules/papaparse'].version,
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        file: `${manifest[0].sha256}.js`,
      },
    ]);
    const bytes = readFileSync(join(folder, manifest[0].file));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(manifest[0].sha256);
    expect(csvExecutor.javascriptPackages).toEqual([
      { name: 'papaparse', version: manifest[0].version, sha256: manifest[0].sha256 },
    ]);
    expect(existsSync(join(assets.plain, 'index.mjs'))).toBe(true);
    expect(existsSync(join(assets.plain, 'runtime/js-packages'))).toBe(false);
  });

  it('runs the staged bundle in the sandbox as the executor loads it', async () => {
    const sandbox = new QuickJsSandbox({
      packages: { csv: readPackageFolder(join(assets.csv, 'runtime/js-packages')) },
    });
    try {
      const result = await sandbox.run(
        {
          executionId: 'e-asset',
          language: 'javascript',
          code: 'import Papa from "papaparse";\nPapa.parse("a,b\\n1,2").data.length',
          limits: LIMITS,
        },
        0,
        { profile: 'csv' },
      );
      expect(result).toMatchObject({ status: 'succeeded', result: '2' });
    } finally {
      await sandbox.close();
    }
  });

  it('refuses a bundle changed after synth', () => {
    const copy = mkdtempSync(join(tmpdir(), 'custody-js-tampered-'));
    try {
      const folder = join(assets.csv, 'runtime/js-packages');
      const manifest = readFileSync(join(folder, PACKAGE_MANIFEST), 'utf8');
      const [entry] = JSON.parse(manifest) as { file: string }[];
      writeFileSync(join(copy, PACKAGE_MANIFEST), manifest);
      const source = readFileSync(join(folder, entry?.file ?? ''), 'utf8');
      writeFileSync(join(copy, entry?.file ?? ''), `${source}\nglobalThis.leak = 1;`);
      expect(() => readPackageFolder(copy)).toThrow(
        /JavaScript package papaparse@[\d.]+: [0-9a-f]{64}\.js has sha256/,
      );
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('stops synth when the hook finds a package that does not load in the sandbox', () => {
    const root = fixtureProject({ 'needs-buffer': '1.0.0' });
    try {
      const packages = profileJavaScriptPackages(
        'reports',
        { javascript: { packages: ['needs-buffer'] } },
        root,
      );
      const [command] = packages.commands(join(root, 'asset'));
      const hook = spawnSync(command ?? 'false', { shell: '/bin/sh', encoding: 'utf8', timeout: 120_000 });
      expect(hook.status).toBe(1);
      expect(hook.stderr).toContain(
        'custody executor bundling: profile "reports": JavaScript package "needs-buffer"@1.0.0 does not load in the sandbox',
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
