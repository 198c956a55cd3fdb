/**
 * custody as a team installs it: `npm pack` makes the tarball, an app in a folder outside this
 * repository gets it as node_modules/custody (with the production dependencies the lock file
 * records linked from this repository's node_modules, where `npm install` would have put copies),
 * and a plain JavaScript app synthesizes the full stack with every Lambda bundled.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../..');
const POLICY = JSON.parse(readFileSync(path.join(REPO, 'custody.policy.json'), 'utf8')) as {
  profiles: Record<string, unknown>;
};

interface Template {
  Resources: Record<
    string,
    { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }
  >;
  Outputs?: Record<string, unknown>;
}

/**
 * What `npm install <tarball>` would hoist: every non-dev package at the top of the lock's tree,
 * with its commands in node_modules/.bin (the CDK runs esbuild as `npx --no-install esbuild`).
 */
function linkProductionDependencies(appModules: string): Record<string, { version?: string }> {
  const lock = JSON.parse(readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; version?: string }>;
  };
  const linked: Record<string, { version?: string }> = {};
  for (const [key, entry] of Object.entries(lock.packages)) {
    const name = key.slice('node_modules/'.length);
    if (!key.startsWith('node_modules/') || name.includes('node_modules/') || entry.dev) continue;
    const source = path.join(REPO, key);
    // Optional packages of other platforms (another OS's deno or esbuild) are not installed.
    if (!existsSync(source)) continue;
    const dest = path.join(appModules, name);
    mkdirSync(path.dirname(dest), { recursive: true });
    symlinkSync(realpathSync(source), dest);
    linked[key] = { ...(entry.version ? { version: entry.version } : {}) };
    const { bin } = JSON.parse(readFileSync(path.join(source, 'package.json'), 'utf8')) as {
      bin?: string | Record<string, string>;
    };
    const commands = typeof bin === 'string' ? { [name.split('/').pop()!]: bin } : (bin ?? {});
    for (const [command, file] of Object.entries(commands)) {
      const link = path.join(appModules, '.bin', command);
      mkdirSync(path.dirname(link), { recursive: true });
      if (!existsSync(link)) symlinkSync(realpathSync(path.join(source, file)), link);
    }
  }
  return linked;
}

describe('the packed custody package', () => {
  let work: string;
  let app: string;
  let files: string[];
  let template: Template;
  let outdir: string;

  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'custody-package-'));
    // `npm pack` runs the prepack script (npm run build), then packs the `files` of package.json.
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: REPO, encoding: 'utf8' }),
    ) as Array<{ filename: string; files: Array<{ path: string }> }>;
    files = packed[0]!.files.map((f) => f.path);

    app = path.join(work, 'team-app');
    const installed = path.join(app, 'node_modules', 'custody');
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', [
      '-xzf',
      path.join(work, packed[0]!.filename),
      '-C',
      installed,
      '--strip-components=1',
    ]);
    const linked = linkProductionDependencies(path.join(app, 'node_modules'));
    // The lock `npm install` would write: synth resolves the policy's JavaScript packages
    // (papaparse, custody's own dependency) through the team's lock file (#17).
    const { version } = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as {
      version: string;
    };
    writeFileSync(
      path.join(app, 'package-lock.json'),
      JSON.stringify({
        name: 'team-app',
        lockfileVersion: 3,
        requires: true,
        packages: {
          '': { name: 'team-app', dependencies: { custody: version } },
          'node_modules/custody': { version },
          ...linked,
        },
      }),
    );
    writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'team-app', private: true, type: 'module' }),
    );
    writeFileSync(path.join(app, 'custody.policy.json'), JSON.stringify(POLICY));
    writeFileSync(
      path.join(app, 'app.mjs'),
      [
        "import { App, Stack } from 'aws-cdk-lib';",
        "import { CustodyConstruct, loadPolicyFile } from 'custody';",
        '',
        'const app = new App();',
        "const stack = new Stack(app, 'TeamStack');",
        "new CustodyConstruct(stack, 'Custody', { policy: loadPolicyFile('custody.policy.json') });",
        'app.synth();',
        '',
      ].join('\n'),
    );
    outdir = path.join(app, 'cdk.out');
    // What `cdk synth` does: run the app with CDK_OUTDIR set, in the app's folder.
    execFileSync(process.execPath, ['app.mjs'], {
      cwd: app,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? work,
        CDK_OUTDIR: outdir,
        AWS_EC2_METADATA_DISABLED: 'true',
        // The verified deno and esbuild tarballs of earlier synths here, if any (checked again on use).
        CUSTODY_BINARY_CACHE:
          process.env.CUSTODY_BINARY_CACHE || path.join(REPO, 'node_modules', '.cache', 'custody-binaries'),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    template = JSON.parse(readFileSync(path.join(outdir, 'TeamStack.template.json'), 'utf8')) as Template;
  }, 900_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const functions = () => Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
  const functionNamed = (description: string) => {
    const found = functions().filter((f) => f.Properties?.Description === description);
    expect(found, description).toHaveLength(1);
    return found[0]!;
  };
  /** The folder of a function's bundled asset in the cloud assembly: `asset.<hash>` for its `<hash>.zip`. */
  const assetOf = (fn: Template['Resources'][string]) => {
    const key = String((fn.Properties?.Code as { S3Key?: unknown } | undefined)?.S3Key);
    expect(key).toMatch(/^[0-9a-f]{64}\.zip$/);
    return path.join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
  };

  it('holds the emitted JavaScript, its types and the executor’s runtime files, and no TypeScript source', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'dist/lib/index.js',
        'dist/lib/index.d.ts',
        'dist/client/index.js',
        'dist/client/index.d.ts',
        'dist/lambda/handlers/broker.js',
        'dist/lambda/handlers/executor.js',
        'dist/lambda/handlers/digester.js',
        'dist/lib/bundling/bundle-runtime-cli.js',
        'dist/lambda/sandbox/python-host.mjs',
        'dist/package-lock.json',
      ]),
    );
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('test/') || f.startsWith('dist/test/'))).toEqual([]);
  });

  it('synthesizes the broker, one executor per profile, the API, the audit table and the session table', () => {
    expect(functions()).toHaveLength(Object.keys(POLICY.profiles).length + 2);
    functionNamed('custody broker: identity, policy, STS, audit');
    for (const profile of Object.keys(POLICY.profiles))
      functionNamed(`custody executor of profile ${profile}`);
    const types = Object.values(template.Resources).map((r) => r.Type);
    expect(types.filter((t) => t === 'AWS::ApiGateway::RestApi')).toHaveLength(1);
    expect(types.filter((t) => t === 'AWS::DynamoDB::Table')).toHaveLength(2);
    expect(Object.keys(template.Outputs ?? {})).toEqual(
      expect.arrayContaining(['AuditTableName', 'AuditSigningKeyArn', 'AuditLogGroupName']),
    );
  });

  it('bundles the broker with the policy and deployment the app gave it', () => {
    const broker = assetOf(functionNamed('custody broker: identity, policy, STS, audit'));
    expect(readdirSync(broker).sort()).toEqual(
      expect.arrayContaining(['deployment.json', 'index.mjs', 'policy.json']),
    );
    const policy = JSON.parse(readFileSync(path.join(broker, 'policy.json'), 'utf8')) as typeof POLICY;
    expect(Object.keys(policy.profiles).sort()).toEqual(Object.keys(POLICY.profiles).sort());
  });

  it('bundles each executor with the Linux deno and esbuild, Pyodide, its snapshot and the host script', () => {
    const profiles = POLICY.profiles as Record<string, { javascript?: { packages?: string[] } }>;
    for (const [profile, declared] of Object.entries(profiles)) {
      const runtime = path.join(assetOf(functionNamed(`custody executor of profile ${profile}`)), 'runtime');
      // A profile with JavaScript packages carries their bundles too (#17), resolved through the app's lock.
      const packages = (declared.javascript?.packages ?? []).length > 0 ? ['js-packages'] : [];
      expect(readdirSync(runtime).sort()).toEqual(
        ['deno', 'esbuild', ...packages, 'pyodide', 'pyodide.snapshot', 'python-host.mjs'].sort(),
      );
      expect(readFileSync(path.join(runtime, 'python-host.mjs'), 'utf8')).toBe(
        readFileSync(path.join(REPO, 'lambda/sandbox/python-host.mjs'), 'utf8'),
      );
    }
  });

  it('gives agents the SDK as custody/client, and operators the custody command', () => {
    const sdk = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const { CustodyClient } = await import('custody/client'); console.log(typeof CustodyClient);",
      ],
      { cwd: app, encoding: 'utf8' },
    );
    expect(sdk.trim()).toBe('function');
    const help = execFileSync(
      process.execPath,
      [path.join(app, 'node_modules/custody/bin/custody.mjs'), '--help'],
      {
        cwd: app,
        encoding: 'utf8',
      },
    );
    expect(help).toContain('custody run');
    const cli = path.join(app, 'node_modules/custody/bin/custody.mjs');
    const version = execFileSync(process.execPath, [cli, '--version'], { cwd: app, encoding: 'utf8' });
    expect(version.trim()).toBe(JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).version);
    // The MCP config an agent's client pastes names the installed CLI by an absolute path.
    const config = JSON.parse(
      execFileSync(process.execPath, [cli, 'mcp', '--print-config'], {
        cwd: app,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    ) as { mcpServers: { custody: { args: string[] } } };
    expect(realpathSync(config.mcpServers.custody.args[0] as string)).toBe(realpathSync(cli));
  });

  it('writes nothing into the app’s folder but its cloud assembly', () => {
    expect(readdirSync(app).sort()).toEqual([
      'app.mjs',
      'cdk.out',
      'custody.policy.json',
      'node_modules',
      'package-lock.json',
      'package.json',
    ]);
  });
});
