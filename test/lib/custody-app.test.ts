/**
 * The CDK app as a user runs it: `cdk synth` with the policy file named by context. One test here
 * bundles every Lambda for real (esbuild and the bundling hooks); the template tests skip that.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDeploymentFile } from '../../lambda/core/deployment.ts';
import { PolicyFileError } from '../../lambda/core/errors.ts';
import { parsePolicy } from '../../lambda/core/policy.ts';
import { PYODIDE_RUNTIME_FILES, RUNTIME_LAYOUT } from '../../lambda/sandbox/runtime-files.ts';
import { addCustodyStack } from '../../lib/custody-app.ts';
import { type CfnTemplate, createApp, functionByDescription, PROJECT_ROOT } from './synth.ts';

const BAD_POLICY = {
  version: 1,
  profiles: { analytics: { languages: ['cobol'] } },
  principals: [],
};

/** An environment with no AWS credentials anywhere and no instance metadata to fall back on. */
function credentialFreeEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('AWS_') && !k.startsWith('CDK_')) env[k] = v;
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/nonexistent/config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
  };
}

describe('the CDK app', () => {
  let work: string;
  let badPolicyFile: string;
  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'custody-app-'));
    badPolicyFile = path.join(work, 'bad.policy.json');
    writeFileSync(badPolicyFile, JSON.stringify(BAD_POLICY));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('refuses a malformed policy file, naming the file and the bad field', () => {
    const app = createApp();
    app.node.setContext('policyFile', badPolicyFile);
    let error: unknown;
    try {
      addCustodyStack(app);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PolicyFileError);
    expect((error as Error).message).toContain(badPolicyFile);
    expect((error as Error).message).toMatch(/profiles\.analytics\.languages\[0\]/);
  });

  it('refuses a policy file that does not exist, naming it', () => {
    const app = createApp();
    app.node.setContext('policyFile', path.join(work, 'missing.json'));
    expect(() => addCustodyStack(app)).toThrow(/Cannot read policy file .*missing\.json/);
  });

  it('exits non-zero from `cdk synth -c policyFile=...` with the path of the bad field and no stack trace', () => {
    const result = spawnSync(
      path.join(PROJECT_ROOT, 'node_modules/.bin/cdk'),
      ['synth', '--quiet', '-c', `policyFile=${badPolicyFile}`, '-o', path.join(work, 'bad.out')],
      { cwd: PROJECT_ROOT, env: credentialFreeEnv(), encoding: 'utf8', timeout: 120_000 },
    );
    const output = `${result.stdout}${result.stderr}`;
    expect(result.status).not.toBe(0);
    expect(output).toContain(`Invalid policy file ${badPolicyFile}`);
    expect(output).toContain('profiles.analytics.languages[0]');
    expect(output).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
  });

  describe('`npm run synth` with no AWS credentials, bundling for real', () => {
    let outdir: string;
    let template: CfnTemplate;
    let status: number | null;
    let output: string;
    beforeAll(() => {
      outdir = path.join(work, 'cdk.out');
      const result = spawnSync('npm', ['run', '--silent', 'synth', '--', '-o', outdir], {
        cwd: PROJECT_ROOT,
        env: credentialFreeEnv(),
        encoding: 'utf8',
        timeout: 600_000,
      });
      status = result.status;
      output = `${result.stdout}${result.stderr}`;
      if (status === 0) {
        template = JSON.parse(
          readFileSync(path.join(outdir, 'Custody.template.json'), 'utf8'),
        ) as CfnTemplate;
      }
    }, 600_000);

    /** The staged asset folder of the function with this description. */
    function assetOf(description: string): string {
      const [, fn] = functionByDescription(template, description);
      const assetPath = (fn.Metadata as Record<string, string>)['aws:asset:path'];
      return path.join(outdir, assetPath!);
    }

    it('succeeds', () => {
      expect(status, output).toBe(0);
    });

    it('warns, where the user sees it, that the example policy names the documentation account', () => {
      expect(output).toMatch(
        /documentation account 111122223333: principal agent \(arn:aws:iam::111122223333:role\/custody-agent\)/,
      );
    });

    it('bundles the broker as ESM with a source map and the validated policy beside it', () => {
      const dir = assetOf('custody broker: identity, policy, STS, audit');
      expect(readdirSync(dir).sort()).toEqual([
        'deployment.json',
        'index.mjs',
        'index.mjs.map',
        'policy.json',
      ]);
      // The deployment description (lambda/core/deployment.ts), not an environment variable.
      const deployment = parseDeploymentFile(
        readFileSync(path.join(dir, 'deployment.json'), 'utf8'),
        'bundled',
      );
      expect(Object.keys(deployment.profiles).sort()).toEqual(['remediation', 'reports', 'sandbox']);
      const shipped = JSON.parse(readFileSync(path.join(dir, 'policy.json'), 'utf8')) as unknown;
      // The snapshot is the parsed policy: valid, and identical once defaults are filled in.
      expect(parsePolicy(shipped, 'bundled policy.json')).toEqual(shipped);
      expect(readFileSync(path.join(dir, 'index.mjs'), 'utf8')).toContain('createRequire');
    });

    it("bundles secretlint's recommended rules into the broker, for the credential scan", () => {
      const bundle = readFileSync(
        path.join(assetOf('custody broker: identity, policy, STS, audit'), 'index.mjs'),
        'utf8',
      );
      // Regular expressions of the preset's OpenAI, Anthropic and GitLab rules survive minification.
      for (const marker of ['T3BlbkFJ', 'sk-ant-api0', 'glpat-']) expect(bundle).toContain(marker);
    });

    it('ships the sandbox runtimes next to the executor bundle, in the layout the sandbox reads', () => {
      const dir = assetOf('custody executor of profile sandbox');
      expect(existsSync(path.join(dir, 'index.mjs'))).toBe(true);
      const runtime = path.join(dir, 'runtime');
      for (const binary of [RUNTIME_LAYOUT.deno, RUNTIME_LAYOUT.esbuild]) {
        expect(statSync(path.join(runtime, binary)).mode & 0o111, binary).not.toBe(0);
      }
      expect(statSync(path.join(runtime, RUNTIME_LAYOUT.snapshot)).size).toBeGreaterThan(0);
      expect(existsSync(path.join(runtime, RUNTIME_LAYOUT.hostScript))).toBe(true);
      expect(readdirSync(path.join(runtime, RUNTIME_LAYOUT.pyodideDir)).sort()).toEqual(
        [...PYODIDE_RUNTIME_FILES].sort(),
      );
    });

    it('bundles the audit digester', () => {
      const dir = assetOf('custody: seals new audit records into signed digests');
      expect(readdirSync(dir)).toContain('index.mjs');
    });
  });
});
