/**
 * The functions of a synthesized cloud assembly, found the way a deploy finds them: manifest.json
 * → each stack's template → its AWS::Lambda::Function resources → the file asset their code comes
 * from (the asset manifest entry whose object key the function's `Code.S3Key` names). Nothing
 * relies on hashed names or on the order of resources.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CfnResolver, type World } from '../lib/cfn-resolve.ts';
import type { CfnTemplate } from '../lib/synth.ts';

export interface AssemblyFunction {
  readonly logicalId: string;
  /** The construct path, e.g. `Custody/Custody/Broker/Broker/Function/Resource`. */
  readonly constructPath: string;
  /** Folder of the (unzipped) code asset inside the cloud assembly. */
  readonly assetDir: string;
  readonly handler: string;
  readonly runtime: string;
  readonly memoryMiB: number;
  readonly timeoutSeconds: number;
  /** The function's own variables, intrinsics resolved to plausible physical names. */
  readonly environment: Readonly<Record<string, string>>;
  readonly logFormat?: string;
  readonly tracing?: string;
}

interface Manifest {
  artifacts?: Record<string, { type: string; properties?: { templateFile?: string; file?: string } }>;
}

interface AssetManifest {
  files?: Record<
    string,
    { source: { path: string; packaging?: string }; destinations: Record<string, { objectKey: string }> }
  >;
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** Runs `cdk synth` of the project into `outDir` (once) and returns it. */
export function synthesize(projectRoot: string, outDir: string): string {
  process.stderr.write(`lambda-runtime: synthesizing into ${outDir}\n`);
  execFileSync('npx', ['cdk', 'synth', '--quiet', '-o', outDir], {
    cwd: projectRoot,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' },
  });
  return outDir;
}

/** Every Lambda function of every stack in the cloud assembly at `cdkOut`. */
export function assemblyFunctions(cdkOut: string, world: World): AssemblyFunction[] {
  const manifest = readJson<Manifest>(path.join(cdkOut, 'manifest.json'));
  const artifacts = Object.values(manifest.artifacts ?? {});
  const objectKeyToDir = new Map<string, string>();
  for (const a of artifacts) {
    if (a.type !== 'cdk:asset-manifest' || !a.properties?.file) continue;
    const assets = readJson<AssetManifest>(path.join(cdkOut, a.properties.file));
    for (const file of Object.values(assets.files ?? {})) {
      if (file.source.packaging !== 'zip') continue;
      for (const dest of Object.values(file.destinations)) {
        objectKeyToDir.set(dest.objectKey, path.join(cdkOut, file.source.path));
      }
    }
  }
  const functions: AssemblyFunction[] = [];
  for (const a of artifacts) {
    if (a.type !== 'aws:cloudformation:stack' || !a.properties?.templateFile) continue;
    const template = readJson<CfnTemplate>(path.join(cdkOut, a.properties.templateFile));
    const resolver = new CfnResolver(template, world);
    for (const [logicalId, r] of Object.entries(template.Resources)) {
      if (r.Type !== 'AWS::Lambda::Function') continue;
      const p = r.Properties as Record<string, unknown>;
      const code = p.Code as { S3Key?: unknown } | undefined;
      const objectKey = code?.S3Key === undefined ? undefined : String(resolver.resolve(code.S3Key));
      const assetDir = objectKey === undefined ? undefined : objectKeyToDir.get(objectKey);
      if (!assetDir) continue; // inline or external code: not an asset of this app
      const variables =
        (p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      const environment = Object.fromEntries(
        Object.entries(variables).map(([k, v]) => {
          const value = resolver.resolve(v);
          return [k, typeof value === 'string' ? value : JSON.stringify(value)];
        }),
      );
      const metadata = (r as { Metadata?: Record<string, unknown> }).Metadata ?? {};
      functions.push({
        logicalId,
        constructPath: String(metadata['aws:cdk:path'] ?? logicalId),
        assetDir,
        handler: String(p.Handler),
        runtime: String(p.Runtime),
        memoryMiB: Number(p.MemorySize ?? 128),
        timeoutSeconds: Number(p.Timeout ?? 3),
        environment,
        ...(p.LoggingConfig
          ? { logFormat: String((p.LoggingConfig as { LogFormat?: string }).LogFormat) }
          : {}),
        ...(p.TracingConfig ? { tracing: String((p.TracingConfig as { Mode?: string }).Mode) } : {}),
      });
    }
  }
  return functions;
}

/** The one function whose construct path contains `/<part>/`; throws naming what was found. */
export function functionByPath(functions: readonly AssemblyFunction[], part: string): AssemblyFunction {
  const found = functions.filter((f) => f.constructPath.includes(`/${part}/`));
  const first = found[0];
  if (!first) {
    throw new Error(
      `no Lambda function under a construct "${part}"; found: ${functions.map((f) => f.constructPath).join(', ')}`,
    );
  }
  return first;
}
