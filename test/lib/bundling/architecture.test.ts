/**
 * The functions' architecture as a CustodyConstruct prop and as `-c architecture=...` on the
 * app: every custody function follows it, and a bad value stops synth naming where it came from.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ArchitectureError } from '../../../lib/bundling/architecture.ts';
import { addCustodyStack } from '../../../lib/custody-app.ts';
import { type CfnTemplate, createApp, PROJECT_ROOT, resourcesOfType, synthCustody } from '../synth.ts';

function architecturesOfFunctions(json: CfnTemplate): unknown[] {
  const functions = resourcesOfType(json, 'AWS::Lambda::Function');
  expect(functions.length).toBeGreaterThan(3);
  return [...new Set(functions.map(([, fn]) => JSON.stringify(fn.Properties.Architectures)))];
}

describe('architecture', () => {
  it('is x86_64 for every function by default', () => {
    expect(architecturesOfFunctions(synthCustody().json)).toEqual([JSON.stringify(['x86_64'])]);
  });

  it('is arm64 for every function when the construct prop says so', () => {
    expect(architecturesOfFunctions(synthCustody({ props: { architecture: 'arm64' } }).json)).toEqual([
      JSON.stringify(['arm64']),
    ]);
  });

  it('refuses an unknown prop value, naming the prop', () => {
    expect(() => synthCustody({ props: { architecture: 'sparc' as 'arm64' } })).toThrow(
      /CustodyConstruct: props\.architecture must be one of x86_64, arm64, got "sparc"/,
    );
  });

  it('is taken from the app context `architecture`', () => {
    const app = createApp();
    app.node.setContext('architecture', 'arm64');
    const stack = addCustodyStack(app);
    const json = Template.fromStack(stack).toJSON() as CfnTemplate;
    expect(architecturesOfFunctions(json)).toEqual([JSON.stringify(['arm64'])]);
  });

  it('refuses an unknown context value, naming the context key', () => {
    const app = createApp();
    app.node.setContext('architecture', 'aarch64');
    expect(() => addCustodyStack(app)).toThrow(ArchitectureError);
    expect(() => addCustodyStack(app)).toThrow(
      /Context architecture \(-c architecture=\.\.\.\) must be one of x86_64, arm64, got "aarch64"/,
    );
  });

  it('exits non-zero from `cdk synth -c architecture=...` with the message and no stack trace', () => {
    const outdir = mkdtempSync(path.join(tmpdir(), 'custody-architecture-'));
    const result = spawnSync(
      path.join(PROJECT_ROOT, 'node_modules/.bin/cdk'),
      ['synth', '--quiet', '-c', 'architecture=amd64', '-o', outdir],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' },
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    rmSync(outdir, { recursive: true, force: true });
    const output = `${result.stdout}${result.stderr}`;
    expect(result.status).not.toBe(0);
    expect(output).toContain(
      'Context architecture (-c architecture=...) must be one of x86_64, arm64, got "amd64"',
    );
    expect(output).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
  }, 120_000);
});
