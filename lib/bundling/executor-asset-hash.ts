/**
 * The executor asset's hash, computed over what goes into it rather than over its bytes.
 *
 * The Pyodide memory snapshot in the asset is not byte-reproducible (two builds from the same
 * inputs differ), so a hash of the output would change on every synth: every deploy would upload
 * the asset again and update every executor, and `cdk diff` would never be clean. This hash
 * covers the real inputs instead: the lock file (which pins deno, esbuild, Pyodide and every
 * bundled package, with their integrity), every file esbuild reads for the bundle, the runtime
 * files copied beside it, the bundling code itself, and the architecture. A change to any of them
 * changes the hash; nothing else does.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { buildSync } from 'esbuild';
import { PYODIDE_RUNTIME_FILES } from '../../lambda/sandbox/runtime-files.ts';
import type { FunctionArchitecture } from './npm-binaries.ts';
import { LINUX_BINARIES } from './npm-binaries.ts';
import { packageFile } from './package-paths.ts';

/** Raised when the inputs change the way they are hashed (not their content). */
const HASH_SCHEME = 'custody-executor-asset/1';

/** The files that shape the bundle and its runtime folder besides esbuild's inputs. */
function bundlingCode(root: string): string[] {
  return [
    ...[
      'lib/bundling/bundle-files.ts',
      'lib/bundling/bundle-runtime-cli.ts',
      'lib/bundling/npm-binaries.ts',
      'lib/bundling/package-paths.ts',
      'lambda/sandbox/python-host.mjs',
      'package-lock.json',
    ].map((file) => relative(root, packageFile(file, root))),
    // esbuild reads both (module type, TypeScript settings) when it bundles the entry; the
    // installed package has no tsconfig.json (it bundles the emitted JavaScript).
    'package.json',
    ...(existsSync(join(root, 'tsconfig.json')) ? ['tsconfig.json'] : []),
  ];
}

export interface ExecutorAssetHashOptions {
  readonly projectRoot: string;
  /** Entry file as the checkout names it (`lambda/handlers/executor.ts`; see `packageFile`). */
  readonly entry: string;
  readonly architecture: FunctionArchitecture;
  /** Anything else that shapes the bundle, e.g. the esbuild options of the function. */
  readonly extra?: string;
}

const computed = new Map<string, string>();

/** The files esbuild reads to bundle `entry`, relative to the project root, sorted. */
function bundleInputs(projectRoot: string, entry: string): string[] {
  const result = buildSync({
    absWorkingDir: projectRoot,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return Object.keys(result.metafile.inputs)
    .filter((input) => !input.includes(':'))
    .sort();
}

/** The hash, memoized per options for the process (one synth hashes once for all executors). */
export function executorAssetHash(options: ExecutorAssetHashOptions): string {
  const key = JSON.stringify(options);
  const known = computed.get(key) ?? executorInputHash(options);
  computed.set(key, known);
  return known;
}

/** The hash of the inputs as they are now (not memoized). */
export function executorInputHash(options: ExecutorAssetHashOptions): string {
  const hash = createHash('sha256');
  const add = (label: string, content: string | Buffer) => {
    hash.update(`${label}\0${content.length}\0`);
    hash.update(content);
  };
  add('scheme', HASH_SCHEME);
  add('architecture', options.architecture);
  add('binaries', JSON.stringify(LINUX_BINARIES[options.architecture]));
  add('extra', options.extra ?? '');
  const root = options.projectRoot;
  const entry = relative(root, packageFile(options.entry, root));
  for (const file of [...new Set([...bundleInputs(root, entry), ...bundlingCode(root)])].sort()) {
    add(`file ${file}`, readFileSync(join(root, file)));
  }
  const pyodide = dirname(createRequire(join(root, 'package.json')).resolve('pyodide/package.json'));
  for (const file of PYODIDE_RUNTIME_FILES) {
    add(`file ${relative(root, join(pyodide, file))}`, readFileSync(join(pyodide, file)));
  }
  return hash.digest('hex');
}
