/**
 * A profile's JavaScript packages (`"javascript": {"packages": [...]}` in the policy), made into
 * modules the QuickJS sandbox can load: each package is resolved through the project's lock file
 * and node_modules (the version the lock pins, which must be the one installed), then bundled by
 * esbuild into one self-contained CommonJS module (everything it imports inlined; nothing read from
 * a file system or a network at run time). A package that imports a Node built-in (`fs`, `path`,
 * `node:*`...) is refused here, at synth, naming the package, the built-in and the file.
 *
 * Resolution follows the `browser` field and condition (the build a package ships for hosts without
 * Node's built-ins) before `module` and `main`: papaparse's `main` requires `stream` for Node
 * streams, its `browser` build does not.
 *
 * The modules are CommonJS, not ES modules, because the sandbox runs the user's code as a script
 * (the last expression is the result; top-level bindings are globals): the user's `import` lines
 * become calls of a loader that knows only these modules (`lambda/sandbox/quickjs-packages.ts`).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import type { JavaScriptPackage } from '../../lambda/sandbox/quickjs-packages.ts';

/** Thrown at synth (or local start) when a profile's JavaScript package cannot be bundled. */
export class JavaScriptPackageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'JavaScriptPackageError';
  }
}

/** Every name Node resolves to a built-in module, with and without `node:`. */
const NODE_BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

function isNodeBuiltin(path: string): boolean {
  return path.startsWith('node:') || NODE_BUILTINS.has(path) || NODE_BUILTINS.has(path.split('/')[0] ?? '');
}

/** The folder of the nearest package-lock.json at or above `from` (how the CDK finds a project). */
export function findProjectRoot(from: string = process.cwd()): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'package-lock.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new JavaScriptPackageError(
        `no package-lock.json at or above ${from}: JavaScript packages are bundled from the project's lock file and node_modules`,
      );
    }
    dir = parent;
  }
}

interface LockFile {
  readonly packages?: Readonly<Record<string, { readonly version?: string; readonly link?: boolean }>>;
}

/** The version package-lock.json pins for `name` at the top of node_modules, if any. */
function lockedVersion(lock: LockFile, name: string): string | undefined {
  return lock.packages?.[`node_modules/${name}`]?.version;
}

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/**
 * Bundles one package from `projectRoot`: its locked and installed version must agree; no file of
 * the bundle may import a Node built-in.
 */
function bundlePackage(
  projectRoot: string,
  lock: LockFile,
  name: string,
  profile: string,
): JavaScriptPackage {
  const where = `profile "${profile}": JavaScript package "${name}"`;
  const version = lockedVersion(lock, name);
  if (version === undefined) {
    throw new JavaScriptPackageError(
      `${where} is not in ${join(projectRoot, 'package-lock.json')}; add it to the project with \`npm i ${name}\``,
    );
  }
  const manifest = join(projectRoot, 'node_modules', name, 'package.json');
  const installed = existsSync(manifest) ? (readJson(manifest) as { version?: unknown }).version : undefined;
  if (installed !== version) {
    throw new JavaScriptPackageError(
      `${where}: package-lock.json pins ${version} but node_modules holds ${installed === undefined ? 'none' : String(installed)}; run \`npm ci\``,
    );
  }

  let result: ReturnType<typeof buildSync>;
  try {
    result = buildSync({
      stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: projectRoot },
      absWorkingDir: projectRoot,
      bundle: true,
      // The sandbox is no browser either, but `browser` is what a package ships for hosts
      // without Node's built-ins (see the file comment); the built-ins stay external only so
      // that the check below can name them.
      platform: 'browser',
      mainFields: ['browser', 'module', 'main'],
      format: 'cjs',
      target: 'es2023',
      external: [...NODE_BUILTINS, 'node:*'],
      define: { 'process.env.NODE_ENV': '"production"' },
      legalComments: 'inline',
      charset: 'utf8',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
  } catch (cause) {
    const errors = (cause as { errors?: { text: string }[] }).errors ?? [];
    const text = errors.map((e) => e.text).join('; ') || (cause as Error).message;
    throw new JavaScriptPackageError(`${where} could not be bundled: ${text}`, { cause });
  }
  for (const [file, input] of Object.entries(result.metafile?.inputs ?? {})) {
    const builtin = input.imports.find((i) => i.external && isNodeBuiltin(i.path));
    if (builtin) {
      throw new JavaScriptPackageError(
        `${where} needs the Node built-in "${builtin.path}" (imported by ${file}); the sandbox has no Node built-ins: choose a package that runs in a browser`,
      );
    }
  }
  const source = result.outputFiles?.[0]?.text ?? '';
  return { name, version, sha256: createHash('sha256').update(source, 'utf8').digest('hex'), source };
}

const bundled = new Map<string, readonly JavaScriptPackage[]>();

/**
 * The bundles of `packages` (a profile's list), in the order given, memoized per project and list
 * for the process (one synth bundles a list once, whatever the number of profiles sharing it).
 */
export function bundleJavaScriptPackages(
  packages: readonly string[],
  options: { readonly profile: string; readonly projectRoot?: string },
): readonly JavaScriptPackage[] {
  if (packages.length === 0) return [];
  const projectRoot = options.projectRoot ?? findProjectRoot();
  const key = JSON.stringify([projectRoot, packages]);
  const known = bundled.get(key);
  if (known) return known;
  const lock = readJson(join(projectRoot, 'package-lock.json')) as LockFile;
  const result = [...new Set(packages)].map((name) =>
    bundlePackage(projectRoot, lock, name, options.profile),
  );
  bundled.set(key, result);
  return result;
}

/**
 * The bundles of every profile that declares JavaScript packages (the local server builds them at
 * start, in memory, as synth does for each executor).
 */
export function bundleProfilePackages(
  profiles: Readonly<Record<string, { readonly javascript: { readonly packages: readonly string[] } }>>,
  projectRoot?: string,
): Record<string, readonly JavaScriptPackage[]> {
  const catalog: Record<string, readonly JavaScriptPackage[]> = {};
  for (const [profile, { javascript }] of Object.entries(profiles)) {
    if (javascript.packages.length === 0) continue;
    catalog[profile] = bundleJavaScriptPackages(javascript.packages, {
      profile,
      ...(projectRoot ? { projectRoot } : {}),
    });
  }
  return catalog;
}
