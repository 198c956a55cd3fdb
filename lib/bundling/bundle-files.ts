/**
 * What the executor needs next to its bundle at run time, put there by the CDK NodejsFunction's
 * `commandHooks.afterBundling(inputDir, outputDir)`:
 *
 *   runtime/deno                the Linux Deno binary of the function's architecture
 *   runtime/pyodide/...         Pyodide's runtime files (not the rest of its npm package)
 *   runtime/python-host.mjs     the Deno host script
 *   runtime/pyodide.snapshot    a Pyodide memory snapshot built now, so no cold start pays for it
 *   runtime/esbuild             the Linux esbuild binary of the function's architecture
 *
 * QuickJS needs nothing: its single-file variant inlines the WebAssembly into the bundle.
 *
 * The binaries come from the npm registry by the versions and integrity package-lock.json pins
 * (npm-binaries.ts), not from the building machine's node_modules, so macOS, Windows or arm64
 * hosts build the same asset. The steps are Node code (`bundleExecutorRuntime`); the hook runs
 * them as one `node` command (`executorBundleCommands`), which any OS's shell can run.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { denoRunArgs } from '../../lambda/sandbox/python-host-process.ts';
import { stateGlueArgs } from '../../lambda/sandbox/python-state.ts';
import { PYODIDE_RUNTIME_FILES, RUNTIME_LAYOUT } from '../../lambda/sandbox/runtime-files.ts';
import { quotedHookArg } from './hook-arg.ts';
import {
  BinaryFetchError,
  type FunctionArchitecture,
  hostDenoBinary,
  installBinary,
  LINUX_BINARIES,
  type TarballFetcher,
} from './npm-binaries.ts';
import { lockFileOf, MODULE_EXTENSION, packageFile } from './package-paths.ts';
import type { PythonPackagesBundling } from './profile-python-packages.ts';

/** Where verified tarballs are kept between synths, unless CUSTODY_BINARY_CACHE names a folder. */
function defaultBinaryCacheDir(projectRoot: string): string {
  return process.env.CUSTODY_BINARY_CACHE || join(projectRoot, 'node_modules', '.cache', 'custody-binaries');
}

export interface ExecutorRuntimeOptions {
  /** The package root: its lock file, node_modules and python-host.mjs are read from it (package-paths.ts). */
  readonly inputDir: string;
  /** The bundle folder; `runtime/` is made in it. */
  readonly outputDir: string;
  /** @default 'x86_64' */
  readonly architecture?: FunctionArchitecture;
  /** @default defaultBinaryCacheDir(inputDir) */
  readonly cacheDir?: string;
  /** @default npmPackFetcher */
  readonly fetcher?: TarballFetcher;
  /**
   * The host's deno for building the snapshot when the function's deno cannot run here; `null`
   * means there is none (e.g. `npm ci --ignore-scripts`), so the host platform's `@deno/*`
   * package is fetched. @default the deno package's binary in node_modules, if present
   */
  readonly hostDeno?: string | null;
  /** @default process.platform, process.arch */
  readonly host?: { readonly platform: string; readonly arch: string };
}

/** The Lambda architecture a host CPU runs natively, if it is one of them. */
function functionArchitectureOf(arch: string): FunctionArchitecture | undefined {
  return arch === 'x64' ? 'x86_64' : arch === 'arm64' ? 'arm64' : undefined;
}

/** The deno binary the deno npm package's install step put beside its package.json, if any. */
function nodeModulesDeno(inputDir: string, platform: string): string | undefined {
  try {
    const require = createRequire(join(inputDir, 'package.json'));
    const binary = join(
      dirname(require.resolve('deno/package.json')),
      platform === 'win32' ? 'deno.exe' : 'deno',
    );
    return existsSync(binary) ? binary : undefined;
  } catch {
    return undefined;
  }
}

/** Puts the runtime folder into `outputDir` (see the file comment). */
export function bundleExecutorRuntime(options: ExecutorRuntimeOptions): void {
  const architecture = options.architecture ?? 'x86_64';
  const binaries = LINUX_BINARIES[architecture];
  if (!binaries) throw new BinaryFetchError(`unknown function architecture ${JSON.stringify(architecture)}`);
  const host = options.host ?? { platform: process.platform, arch: process.arch };
  const cache = {
    lockFile: lockFileOf(options.inputDir),
    cacheDir: options.cacheDir ?? defaultBinaryCacheDir(options.inputDir),
    ...(options.fetcher ? { fetcher: options.fetcher } : {}),
  };

  const runtime = join(options.outputDir, 'runtime');
  const pyodide = join(runtime, RUNTIME_LAYOUT.pyodideDir);
  const deno = join(runtime, RUNTIME_LAYOUT.deno);
  const hostScript = join(runtime, RUNTIME_LAYOUT.hostScript);
  mkdirSync(pyodide, { recursive: true });

  installBinary(binaries.deno, deno, cache);
  installBinary(binaries.esbuild, join(runtime, RUNTIME_LAYOUT.esbuild), cache);
  const require = createRequire(join(options.inputDir, 'package.json'));
  const pyodidePackage = dirname(require.resolve('pyodide/package.json'));
  for (const file of PYODIDE_RUNTIME_FILES) copyFileSync(join(pyodidePackage, file), join(pyodide, file));
  copyFileSync(packageFile('lambda/sandbox/python-host.mjs', options.inputDir), hostScript);

  // The snapshot is made by the function's own deno where it runs here, else by the host's (a
  // snapshot made by one deno 2.9 build loads in another), fetched when node_modules has none.
  const scratch = mkdtempSync(join(tmpdir(), 'custody-snapshot-'));
  try {
    let snapshotDeno: string;
    if (host.platform === 'linux' && functionArchitectureOf(host.arch) === architecture) {
      snapshotDeno = deno;
    } else {
      const found =
        options.hostDeno === undefined ? nodeModulesDeno(options.inputDir, host.platform) : options.hostDeno;
      if (found) {
        snapshotDeno = found;
      } else {
        const hostBinary = hostDenoBinary(host.platform, host.arch);
        if (!hostBinary) {
          throw new BinaryFetchError(
            `no deno runs on this build host (${host.platform} ${host.arch}) to build the Pyodide snapshot`,
          );
        }
        snapshotDeno = join(scratch, hostBinary.file);
        installBinary(hostBinary, snapshotDeno, cache);
      }
    }
    buildSnapshot(
      snapshotDeno,
      pyodide,
      hostScript,
      join(runtime, RUNTIME_LAYOUT.snapshot),
      scratch,
      host.platform,
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Runs the host script's `snapshot` mode under the same (empty) permissions and environment as a run. */
function buildSnapshot(
  deno: string,
  pyodide: string,
  hostScript: string,
  snapshotFile: string,
  scratch: string,
  platform: string,
): void {
  const denoDir = join(scratch, 'deno-dir');
  mkdirSync(denoDir);
  const out = openSync(snapshotFile, 'w');
  let result: ReturnType<typeof spawnSync>;
  try {
    result = spawnSync(
      deno,
      [
        // The flags of every run: read access to the runtime files only, everything else denied.
        ...denoRunArgs([pyodide, hostScript]),
        hostScript,
        'snapshot',
        pyodide,
        // The session-state glue, compiled into the snapshot (#15).
        ...stateGlueArgs(),
      ],
      {
        // Nothing of the build host's environment reaches the snapshot (Windows needs SystemRoot).
        env: {
          DENO_DIR: denoDir,
          NO_COLOR: '1',
          ...(platform === 'win32' && process.env.SystemRoot ? { SystemRoot: process.env.SystemRoot } : {}),
        },
        stdio: ['ignore', out, 'pipe'],
        encoding: 'utf8',
      },
    );
  } finally {
    closeSync(out);
  }
  if (result.error || result.status !== 0) {
    throw new BinaryFetchError(
      `building the Pyodide snapshot with ${deno} failed (${result.error?.message ?? `exit ${result.status}`}): ${String(result.stderr).trim()}`,
    );
  }
}

/** The script the hook runs with node (it reads its options from one argument). */
const CLI_SCRIPT = fileURLToPath(new URL(`./bundle-runtime-cli${MODULE_EXTENSION}`, import.meta.url));

const quoted = (path: string): string => quotedHookArg(path, (message) => new BinaryFetchError(message));

/**
 * The afterBundling hook: one `node` command, the same in sh and cmd, that runs
 * `bundleExecutorRuntime` (through tsx from the sources; the emitted JavaScript as installed).
 * The options travel as base64url JSON, which no shell reads.
 */
export function executorBundleCommands(
  inputDir: string,
  outputDir: string,
  options: { readonly architecture?: FunctionArchitecture; readonly python?: PythonPackagesBundling } = {},
): string[] {
  // From the sources, tsx loads the TypeScript; the installed package runs its emitted JavaScript.
  const loader =
    MODULE_EXTENSION === '.ts'
      ? `--import ${quoted(pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href)} `
      : '';
  const argument = Buffer.from(
    JSON.stringify({
      inputDir,
      outputDir,
      architecture: options.architecture ?? 'x86_64',
      ...(options.python ? { python: options.python } : {}),
    }),
  ).toString('base64url');
  const command = `${quoted(process.execPath)} ${loader}${quoted(CLI_SCRIPT)} ${argument}`;
  // The CDK runs a hook with `cmd /c` on Windows, which strips a line's first and last quote
  // when it holds more than two: one more pair keeps the line whole.
  return [process.platform === 'win32' ? `"${command}"` : command];
}
