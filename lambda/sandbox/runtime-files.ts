/**
 * Where the files the sandboxes need at run time are: the Deno binary, Pyodide's distribution,
 * the Deno host script, an optional prebuilt Pyodide memory snapshot and the esbuild binary.
 *
 * On Lambda they sit in one runtime folder next to the bundle (`executorBundleCommands` copies
 * them there; `CUSTODY_RUNTIME_DIR` or `${LAMBDA_TASK_ROOT}/runtime` names it). Locally they are
 * found in node_modules and beside this file.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXECUTOR_ENV } from '../core/env-names.ts';

export interface RuntimeFiles {
  readonly denoPath: string;
  readonly pyodideDir: string;
  readonly hostScriptPath: string;
  /** A Pyodide memory snapshot built ahead of time, if there is one. */
  readonly snapshotPath?: string;
  /** The esbuild binary for the TypeScript transform, when not resolvable from node_modules. */
  readonly esbuildBinaryPath?: string;
  /** The profile's bundled JavaScript packages (`js-package-folder.ts`), if it has any. */
  readonly javascriptPackagesDir?: string;
  /** The profile's Pyodide packages (wheels and a lock naming only them), if it bundles any (#17). */
  readonly pythonPackagesDir?: string;
}

/** The layout of a runtime folder (what `executorBundleCommands` produces). */
export const RUNTIME_LAYOUT = {
  deno: 'deno',
  pyodideDir: 'pyodide',
  hostScript: 'python-host.mjs',
  snapshot: 'pyodide.snapshot',
  esbuild: 'esbuild',
  javascriptPackages: 'js-packages',
  pythonPackages: 'python-packages',
} as const;

/** The Pyodide files a Python execution reads (the rest of the npm package is not needed). */
export const PYODIDE_RUNTIME_FILES = [
  'pyodide.mjs',
  'pyodide.asm.mjs',
  'pyodide.asm.wasm',
  'python_stdlib.zip',
  'pyodide-lock.json',
  'package.json',
] as const;

function runtimeFilesIn(runtimeDir: string): RuntimeFiles {
  const missing = [RUNTIME_LAYOUT.deno, RUNTIME_LAYOUT.hostScript, RUNTIME_LAYOUT.pyodideDir].filter(
    (name) => !existsSync(join(runtimeDir, name)),
  );
  if (missing.length > 0) {
    throw new Error(`sandbox runtime folder ${runtimeDir} lacks ${missing.join(', ')}`);
  }
  const snapshot = join(runtimeDir, RUNTIME_LAYOUT.snapshot);
  const esbuild = join(runtimeDir, RUNTIME_LAYOUT.esbuild);
  const javascriptPackages = join(runtimeDir, RUNTIME_LAYOUT.javascriptPackages);
  const pythonPackages = join(runtimeDir, RUNTIME_LAYOUT.pythonPackages);
  return {
    denoPath: join(runtimeDir, RUNTIME_LAYOUT.deno),
    pyodideDir: join(runtimeDir, RUNTIME_LAYOUT.pyodideDir),
    hostScriptPath: join(runtimeDir, RUNTIME_LAYOUT.hostScript),
    ...(existsSync(snapshot) ? { snapshotPath: snapshot } : {}),
    ...(existsSync(esbuild) ? { esbuildBinaryPath: esbuild } : {}),
    ...(existsSync(javascriptPackages) ? { javascriptPackagesDir: javascriptPackages } : {}),
    ...(existsSync(pythonPackages) ? { pythonPackagesDir: pythonPackages } : {}),
  };
}

/** The runtime files of a development checkout: node_modules and this folder. */
export function runtimeFilesFromNodeModules(): RuntimeFiles {
  const require = createRequire(import.meta.url);
  return {
    denoPath: join(dirname(require.resolve('deno/package.json')), 'deno'),
    pyodideDir: dirname(require.resolve('pyodide/package.json')),
    hostScriptPath: fileURLToPath(new URL('./python-host.mjs', import.meta.url)),
  };
}

/**
 * The runtime folder named by the option, else by `CUSTODY_RUNTIME_DIR`, else
 * `${LAMBDA_TASK_ROOT}/runtime` when that exists; otherwise node_modules.
 */
export function resolveRuntimeFiles(runtimeDir?: string): RuntimeFiles {
  const named = runtimeDir ?? process.env[EXECUTOR_ENV.runtimeDir];
  if (named) return runtimeFilesIn(named);
  const taskRoot = process.env.LAMBDA_TASK_ROOT;
  if (taskRoot && existsSync(join(taskRoot, 'runtime'))) return runtimeFilesIn(join(taskRoot, 'runtime'));
  return runtimeFilesFromNodeModules();
}
