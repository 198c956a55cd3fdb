import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WORLD } from '../lib/cfn-resolve.ts';
import { assemblyFunctions, functionByPath } from './cloud-assembly.ts';

/** A cloud assembly shaped like `cdk synth`'s, with asset folders not named after their hash. */
function writeAssembly(dir: string): void {
  const json = (file: string, value: unknown) => writeFileSync(path.join(dir, file), JSON.stringify(value));
  mkdirSync(path.join(dir, 'code-b'));
  mkdirSync(path.join(dir, 'code-a'));
  json('manifest.json', {
    version: '55.0.0',
    artifacts: {
      'App.assets': { type: 'cdk:asset-manifest', properties: { file: 'App.assets.json' } },
      App: { type: 'aws:cloudformation:stack', properties: { templateFile: 'App.template.json' } },
    },
  });
  json('App.assets.json', {
    files: {
      h1: { source: { path: 'code-a', packaging: 'zip' }, destinations: { d: { objectKey: 'aaa.zip' } } },
      h2: { source: { path: 'code-b', packaging: 'zip' }, destinations: { d: { objectKey: 'bbb.zip' } } },
      h3: {
        source: { path: 'App.template.json', packaging: 'file' },
        destinations: { d: { objectKey: 't.json' } },
      },
    },
  });
  const fn = (cdkPath: string, key: string, extra: Record<string, unknown>) => ({
    Type: 'AWS::Lambda::Function',
    Metadata: { 'aws:cdk:path': cdkPath },
    Properties: {
      Code: { S3Bucket: 'b', S3Key: key },
      Handler: 'index.handler',
      Runtime: 'nodejs22.x',
      ...extra,
    },
  });
  json('App.template.json', {
    Resources: {
      Table: { Type: 'AWS::DynamoDB::Table', Properties: {} },
      Broker: fn('App/Broker/Function/Resource', 'bbb.zip', {
        MemorySize: 1024,
        Timeout: 50,
        Environment: { Variables: { TABLE: { Ref: 'Table' }, FIXED: 'x' } },
        LoggingConfig: { LogFormat: 'JSON' },
        TracingConfig: { Mode: 'Active' },
      }),
      Executor: fn('App/Executor-sandbox/Executor/Function/Resource', 'aaa.zip', {}),
      Inline: { Type: 'AWS::Lambda::Function', Properties: { Code: { ZipFile: 'x' }, Handler: 'index.h' } },
    },
  });
}

describe('cloud assembly functions', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'assembly-'));
    writeAssembly(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("finds each function's asset folder through the asset manifest's object key", () => {
    const functions = assemblyFunctions(dir, WORLD);
    expect(functionByPath(functions, 'Executor').assetDir).toBe(path.join(dir, 'code-a'));
    expect(functionByPath(functions, 'Broker')).toMatchObject({
      assetDir: path.join(dir, 'code-b'),
      handler: 'index.handler',
      runtime: 'nodejs22.x',
      memoryMiB: 1024,
      timeoutSeconds: 50,
      environment: { TABLE: 'Table', FIXED: 'x' },
      logFormat: 'JSON',
      tracing: 'Active',
    });
  });

  it("applies Lambda's defaults and skips functions whose code is not an asset", () => {
    const functions = assemblyFunctions(dir, WORLD);
    expect(functions.map((f) => f.logicalId).sort()).toEqual(['Broker', 'Executor']);
    expect(functionByPath(functions, 'Executor')).toMatchObject({
      memoryMiB: 128,
      timeoutSeconds: 3,
      environment: {},
    });
  });

  it('names the functions it found when the one asked for is missing', () => {
    expect(() => functionByPath(assemblyFunctions(dir, WORLD), 'Digester')).toThrow(
      /no Lambda function under a construct "Digester"; found: App\/Broker.*App\/Executor-sandbox/,
    );
  });
});
