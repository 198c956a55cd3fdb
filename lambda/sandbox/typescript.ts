/**
 * TypeScript is transformed (types stripped, nothing bundled or resolved) with esbuild, then run
 * as JavaScript in QuickJS. A syntax error is the user's: it comes back as a failed result.
 * Code with import declarations, TypeScript or JavaScript, is transformed to CommonJS: its imports
 * become `require` calls of the profile's bundled packages (`quickjs-packages.ts`).
 *
 * The transform is the user's work, so it runs inside the run's limits, in something that can be
 * killed: a fresh esbuild process per transform (the binary, not esbuild's shared service, started
 * one transform ahead), given the source on stdin, with one Go thread (GOMAXPROCS=1) and an empty
 * environment. It is killed
 * when the run's deadline passes (`timed_out`), when its resident memory passes the run's memory
 * limit (`out_of_memory`; polled every `RSS_POLL_MS` on Linux) or when its output passes
 * `maxTransformOutputBytes` (esbuild re-indents nested blocks: 16 KB of braces becomes 134 MB of
 * output, which is also reported as `out_of_memory`). Measured on this machine: 8,192 nested braces
 * took 2.2 s and 1 GB in esbuild, and a 134 MB string in the server, before this bound.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { SandboxRequest, SandboxResult, UserCodeError } from '../core/types.ts';
import { hasModuleSyntax } from './quickjs-packages.ts';

/** How often the esbuild process's resident memory is read (Linux; elsewhere only time and output bound it). */
const RSS_POLL_MS = 20;
/** esbuild's own messages kept (one syntax error is a few hundred bytes). */
const MAX_STDERR_BYTES = 64 * 1024;

export interface TransformBounds {
  /** Wall-clock time the transform may take (what is left of the run's deadline). */
  readonly timeoutMs: number;
  /** Resident memory the esbuild process may reach (the run's memory limit). */
  readonly memoryBytes: number;
  /** The esbuild binary. @default ESBUILD_BINARY_PATH, else the platform package esbuild installed */
  readonly binaryPath?: string;
}

type TransformStatus = 'failed' | 'timed_out' | 'out_of_memory';

export type TransformResult =
  | { readonly ok: true; readonly code: string; readonly elapsedMs: number }
  | {
      readonly ok: false;
      readonly status: TransformStatus;
      readonly error: UserCodeError;
      readonly elapsedMs: number;
    };

/** The largest transformed program accepted: 4 times the source, plus 64 KiB. */
export function maxTransformOutputBytes(source: string): number {
  return 4 * Buffer.byteLength(source, 'utf8') + 64 * 1024;
}

/** Thrown when esbuild cannot be started or ends in a way that is not the user's doing. */
class TransformUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TransformUnavailableError';
  }
}

let defaultBinary: string | undefined;

/** The esbuild binary of this platform, as esbuild's own install resolves it. */
function esbuildBinaryPath(): string {
  const named = process.env.ESBUILD_BINARY_PATH;
  if (named) return named;
  if (defaultBinary) return defaultBinary;
  const require = createRequire(import.meta.url);
  const fromEsbuild = createRequire(require.resolve('esbuild/package.json'));
  const packageName = `@esbuild/${process.platform}-${process.arch}`;
  const executable = process.platform === 'win32' ? 'esbuild.exe' : join('bin', 'esbuild');
  defaultBinary = join(dirname(fromEsbuild.resolve(`${packageName}/package.json`)), executable);
  return defaultBinary;
}

/** What the transform reads and writes: TypeScript or JavaScript; with `imports`, CommonJS (`quickjs-packages.ts`). */
export interface TransformKind {
  readonly loader: 'ts' | 'js';
  /** The code has import declarations: they become `require` calls (esbuild's CommonJS output). */
  readonly imports: boolean;
}

const TYPESCRIPT: TransformKind = { loader: 'ts', imports: false };

function esbuildArgs(kind: TransformKind): string[] {
  return [
    `--loader=${kind.loader}`,
    '--target=es2023',
    `--sourcefile=main.${kind.loader}`,
    ...(kind.imports ? ['--format=cjs'] : []),
    '--log-level=error',
    '--color=false',
    '--log-limit=10',
  ];
}

/**
 * One esbuild process started ahead, waiting for its source on stdin: starting one costs 10 to
 * 30 ms (more on a loaded machine), which this keeps off the run's path. Each process still
 * transforms exactly one source and is then gone.
 */
let spare: { readonly binary: string; readonly args: string; readonly child: ChildProcess } | undefined;
/** False from `stopSpareTransform` until the next transform: a closed sandbox leaves no process. */
let spareWanted = true;

function startEsbuild(binary: string, args: readonly string[]): ChildProcess {
  // Nothing of the host's environment; one Go thread.
  return spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { GOMAXPROCS: '1' } });
}

/** Lets a waiting process not hold the event loop open (or, `hold = true`, hold it again). */
function holdLoop(child: ChildProcess, hold: boolean): void {
  for (const handle of [child, child.stdin, child.stdout, child.stderr]) {
    const refable = handle as unknown as { ref?: () => void; unref?: () => void } | null;
    if (hold) refable?.ref?.();
    else refable?.unref?.();
  }
}

/** The spare process for `binary` and `args`, or a new one. */
function takeEsbuild(binary: string, args: readonly string[]): ChildProcess {
  const ready =
    spare?.binary === binary &&
    spare.args === args.join(' ') &&
    spare.child.exitCode === null &&
    spare.child.signalCode === null;
  spareWanted = true;
  const child = ready && spare ? spare.child : startEsbuild(binary, args);
  if (!ready) spare?.child.kill('SIGKILL');
  spare = undefined;
  holdLoop(child, true);
  return child;
}

/**
 * Starts the spare for the next transform, once this one is over: starting a process blocks this
 * thread for the fork, which should not delay the transform in progress.
 */
function prepareSpare(binary: string, args: readonly string[]): void {
  if (spare || !spareWanted) return;
  try {
    const next = startEsbuild(binary, args);
    const forget = () => {
      if (spare?.child === next) spare = undefined;
    };
    next.on('error', forget);
    next.on('exit', forget);
    next.stdin?.on('error', () => undefined);
    holdLoop(next, false);
    spare = { binary, args: args.join(' '), child: next };
  } catch {
    // No spare: the next transform starts its own process (and reports a failure to start).
  }
}

/** Ends the spare esbuild process, if any, and waits until it is reaped. */
export async function stopSpareTransform(): Promise<void> {
  const current = spare;
  spare = undefined;
  spareWanted = false;
  if (!current || current.child.exitCode !== null || current.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => current.child.once('exit', () => resolve()));
  // A waiting spare does not hold the event loop; until it is reaped, it must (else a process
  // whose last work is this close ends before the exit event, with the close never settled).
  holdLoop(current.child, true);
  current.child.kill('SIGKILL');
  await exited;
}

export function transformTypeScript(
  source: string,
  bounds: TransformBounds,
  kind: TransformKind = TYPESCRIPT,
): Promise<TransformResult> {
  const args = esbuildArgs(kind);
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const maxOutputBytes = maxTransformOutputBytes(source);
  const binary = bounds.binaryPath ?? esbuildBinaryPath();
  if (bounds.timeoutMs <= 0) return Promise.resolve(timedOut(0));

  return new Promise<TransformResult>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = takeEsbuild(binary, args);
    } catch (cause) {
      reject(
        new TransformUnavailableError(`esbuild could not be started: ${(cause as Error).message}`, { cause }),
      );
      return;
    }
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    const stderr: Buffer[] = [];
    let stderrBytes = 0;
    let stopped: TransformResult | undefined;
    const stop = (result: TransformResult) => {
      if (stopped) return;
      stopped = result;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => stop(timedOut(elapsed())), bounds.timeoutMs);
    const poll =
      process.platform === 'linux'
        ? setInterval(() => {
            const rss = residentBytes(child.pid);
            if (rss !== undefined && rss > bounds.memoryBytes) {
              stop(
                overMemory(elapsed(), `the TypeScript transform used more than ${bounds.memoryBytes} bytes`),
              );
            }
          }, RSS_POLL_MS)
        : undefined;

    child.stdout?.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > maxOutputBytes) {
        stop(
          overMemory(
            elapsed(),
            `the TypeScript transform's output exceeds ${maxOutputBytes} bytes (4 times the source plus 64 KiB)`,
          ),
        );
        return;
      }
      if (!stopped) stdout.push(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderrBytes >= MAX_STDERR_BYTES) return;
      stderrBytes += chunk.length;
      stderr.push(chunk);
    });
    // A process killed before it read all of its input closes the pipe under the write.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(source, 'utf8');

    child.on('error', (cause) => {
      clearTimeout(timer);
      clearInterval(poll);
      if (stopped) resolve(stopped);
      else reject(new TransformUnavailableError(`esbuild could not be started: ${cause.message}`, { cause }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      // The spare is of this transform's kind (the next run is likely of the same).
      setImmediate(() => prepareSpare(binary, args));
      if (stopped) {
        resolve(stopped);
        return;
      }
      if (code === 0) {
        resolve({ ok: true, code: Buffer.concat(stdout).toString('utf8'), elapsedMs: elapsed() });
        return;
      }
      const syntax = syntaxError(Buffer.concat(stderr).toString('utf8'));
      if (syntax) {
        resolve({ ok: false, status: 'failed', error: syntax, elapsedMs: elapsed() });
        return;
      }
      if (/out of memory/i.test(Buffer.concat(stderr).toString('utf8'))) {
        resolve(overMemory(elapsed(), 'the TypeScript transform ran out of memory'));
        return;
      }
      reject(new TransformUnavailableError(`esbuild ended with ${signal ?? `exit code ${code}`}`));
    });
  });
}

function timedOut(elapsedMs: number): TransformResult {
  return {
    ok: false,
    status: 'timed_out',
    error: { name: 'InternalError', message: 'the TypeScript transform reached the deadline', traceback: '' },
    elapsedMs,
  };
}

function overMemory(elapsedMs: number, message: string): TransformResult {
  return {
    ok: false,
    status: 'out_of_memory',
    error: { name: 'RangeError', message, traceback: '' },
    elapsedMs,
  };
}

/** VmRSS of a live process, in bytes (undefined once it is gone or where /proc is not). */
function residentBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The user's syntax errors from esbuild's log (`--color=false`):
 * `✘ [ERROR] Unexpected ";"` followed, after a blank line, by `    main.ts:1:16:`.
 */
function syntaxError(log: string): UserCodeError | undefined {
  const errors: { text: string; where?: string }[] = [];
  for (const line of log.split('\n')) {
    const error = /\[ERROR\] (.*)$/.exec(line);
    if (error) {
      errors.push({ text: error[1] ?? '' });
      continue;
    }
    const location = /^\s+main\.(ts|js):(\d+):(\d+):\s*$/.exec(line);
    const last = errors[errors.length - 1];
    if (location && last && last.where === undefined) {
      last.where = `main.${location[1]}:${location[2]}:${location[3]}`;
    }
  }
  const first = errors[0];
  if (!first) return undefined;
  return {
    name: 'SyntaxError',
    message: first.text,
    traceback: errors.map((e) => (e.where ? `${e.where}: ${e.text}` : e.text)).join('\n'),
  };
}

/**
 * Whether a request goes through the transform before QuickJS: TypeScript always; JavaScript when
 * it has import declarations (`quickjs-packages.ts`). Other JavaScript runs as it is written.
 */
export function needsTransform(request: SandboxRequest): boolean {
  return request.language === 'typescript' || hasModuleSyntax(request.code);
}

/**
 * A request made ready for QuickJS (see `needsTransform`): its JavaScript, with the time the
 * transform spent (taken from the run's deadline) and whether its imports became `require` calls;
 * or, when the transform itself failed or hit a limit, the run's final result, whose `runMs` is the
 * transform's time.
 */
export async function prepareTypeScript(
  request: SandboxRequest,
  binaryPath?: string,
): Promise<
  | { readonly result: SandboxResult }
  | { readonly request: SandboxRequest; readonly spentMs: number; readonly imports: boolean }
> {
  const imports = hasModuleSyntax(request.code);
  const transformed = await transformTypeScript(
    request.code,
    {
      timeoutMs: request.limits.timeoutMs,
      memoryBytes: request.limits.memoryMiB * 1024 * 1024,
      ...(binaryPath ? { binaryPath } : {}),
    },
    { loader: request.language === 'typescript' ? 'ts' : 'js', imports },
  );
  if (transformed.ok) {
    return {
      request: { ...request, language: 'javascript', code: transformed.code },
      spentMs: transformed.elapsedMs,
      imports,
    };
  }
  const base = {
    stdout: '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    files: {},
    filesTruncated: false,
    timings: { startMs: 0, runMs: transformed.elapsedMs },
  };
  if (transformed.status === 'failed')
    return { result: { ...base, status: 'failed', error: transformed.error } };
  return { result: { ...base, status: transformed.status, error: transformed.error } };
}
