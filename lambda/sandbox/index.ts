/**
 * The sandboxes: one entry point that dispatches on language. Used in-process by the local
 * server (many concurrent runs) and by the executor Lambda (one run at a time).
 *
 * - javascript / typescript: QuickJS in WebAssembly, a fresh instance per execution.
 * - python: Pyodide in a throw-away Deno process with no permissions per execution.
 */
import type { Sandbox, SandboxRequest, SandboxResult } from '../core/types.ts';
import { readPackageFolder } from './js-package-folder.ts';
import { PythonSandbox, type PythonSandboxOptions } from './python-sandbox.ts';
import type { JavaScriptPackageCatalog } from './quickjs-packages.ts';
import { QuickJsSandbox, type QuickJsSandboxOptions, type RunScope } from './quickjs-sandbox.ts';
import { type RuntimeFiles, resolveRuntimeFiles } from './runtime-files.ts';
import { withSessionState } from './session-state.ts';

export type { RuntimeFiles } from './runtime-files.ts';
export { resolveRuntimeFiles } from './runtime-files.ts';

export interface SandboxOptions extends PythonSandboxOptions {
  /**
   * Folder holding the runtime files (deno, pyodide/, python-host.mjs, pyodide.snapshot, esbuild).
   * @default CUSTODY_RUNTIME_DIR, else ${LAMBDA_TASK_ROOT}/runtime, else node_modules
   */
  readonly runtimeDir?: string;
  /** A folder of Pyodide packages instead of the runtime folder's (local mode, #17). @default none */
  readonly pythonPackagesDir?: string;
  /**
   * Where JavaScript and TypeScript run, given the QuickJS options this function derives from the
   * runtime files (the local server passes one that runs them in a worker thread).
   * @default the QuickJsSandbox, in this thread
   */
  readonly javascript?: (options: QuickJsSandboxOptions) => JavaScriptSandbox;
  /**
   * The profile this sandbox serves alone (an executor Lambda): its JavaScript packages are read
   * from the runtime folder, and a run names no profile of its own. @default none
   */
  readonly profile?: string;
  /** The JavaScript packages of each profile, bundled at start (the local server). @default none */
  readonly javascriptPackages?: JavaScriptPackageCatalog;
}

/** What runs JavaScript and TypeScript: QuickJsSandbox, or something that hosts one. */
interface JavaScriptSandbox {
  run(request: SandboxRequest, spentMs?: number, scope?: RunScope): Promise<SandboxResult>;
  close(): Promise<void>;
}

export interface CustodySandbox extends Sandbox {
  /** `profile`: whose bundled JavaScript packages the code may import (default: the sandbox's `profile`). */
  run(request: SandboxRequest, profile?: string): Promise<SandboxResult>;
  /** Prepares the Python runtime (snapshot, pre-started process) ahead of the first execution. */
  warmUp(): Promise<void>;
  /** Settles once the pre-started Python processes are loaded (nothing to wait for if none). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export function createSandbox(options: SandboxOptions = {}): CustodySandbox {
  const files: RuntimeFiles = {
    ...resolveRuntimeFiles(options.runtimeDir),
    ...(options.pythonPackagesDir ? { pythonPackagesDir: options.pythonPackagesDir } : {}),
  };
  const packages: JavaScriptPackageCatalog | undefined =
    options.profile !== undefined && files.javascriptPackagesDir
      ? { [options.profile]: readPackageFolder(files.javascriptPackagesDir) }
      : options.javascriptPackages;
  const quickJsOptions: QuickJsSandboxOptions = {
    ...(files.esbuildBinaryPath ? { esbuildBinaryPath: files.esbuildBinaryPath } : {}),
    ...(packages ? { packages } : {}),
  };
  const javascript = options.javascript?.(quickJsOptions) ?? new QuickJsSandbox(quickJsOptions);
  let python: PythonSandbox | undefined;
  const pythonSandbox = () => {
    python ??= new PythonSandbox(files, options);
    return python;
  };
  return {
    async run(request: SandboxRequest, profile?: string): Promise<SandboxResult> {
      const result = await runIn(request, profile);
      // Every answer to a session's call has a state (whatever path made it), and no other has one.
      return request.session === undefined || result.state === undefined
        ? withSessionState(request, result, undefined)
        : result;
    },
    async warmUp(): Promise<void> {
      await pythonSandbox().warmUp();
    },
    async settled(): Promise<void> {
      await python?.settled();
    },
    async close(): Promise<void> {
      await Promise.all([javascript.close(), python?.close()]);
    },
  };

  function runIn(request: SandboxRequest, profile: string | undefined): Promise<SandboxResult> {
    switch (request.language) {
      case 'python':
        return pythonSandbox().run(request);
      case 'javascript':
      case 'typescript':
        return javascript.run(request, 0, { profile: profile ?? options.profile });
      default: {
        const unknown: never = request.language;
        return Promise.reject(new Error(`no sandbox for language ${JSON.stringify(unknown)}`));
      }
    }
  }
}
