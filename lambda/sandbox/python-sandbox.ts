/**
 * Python in Pyodide, one OS process per execution.
 *
 * Pyodide is not a sandbox (its Python code reaches the JavaScript realm through `import js`,
 * `pyodide.code.run_js`, the `Function` constructor). So each execution runs in its own Deno process
 * with no permission but reading the runtime files, an environment holding only DENO_DIR, stdio
 * pipes only, in its own process group that is killed at the deadline, and that exits after the job.
 *
 * Nothing a run causes outlives it, and the host stays out of sight: Deno's cache folder is a path
 * that cannot exist (under a regular file), so Deno keeps its caches in the process's memory and
 * writes nothing to disk; every file is named through a folder of neutral links, so the paths the
 * process sees say nothing of the host; the timings reported are the parent's own measurements.
 *
 * Start-up: Pyodide's memory snapshot (built once, at bundle time or at first use) brings a load
 * from about 2.2 s to a few hundred ms, and pre-started processes (loaded, waiting for one job,
 * never having seen another) take that off the critical path. No interpreter is ever reused.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { z } from 'zod';
import { DependencyError, ValidationError } from '../core/errors.ts';
import { unsafeFileNameReason } from '../core/file-map.ts';
import { MAX_OUTPUT_FILES } from '../core/limits.ts';
import type { SandboxRequest, SandboxResult, UserCodeError } from '../core/types.ts';
import { CappedFiles, CappedText } from './capped-text.ts';
import { LineSplitter } from './line-splitter.ts';
import { createWorkDir, type NeutralLinks, removeLeftovers, type WorkDir } from './python-work-dir.ts';
import type { RuntimeFiles } from './runtime-files.ts';

export interface PythonSandboxOptions {
  /** Pre-started processes kept waiting for a job. 0 starts each process on demand. @default 1 */
  readonly prestartedProcesses?: number;
  /** Python executions running at once; more wait. @default availableParallelism() */
  readonly maxConcurrent?: number;
  /** How long a process may take to load Pyodide before the executor gives up. @default 60_000 */
  readonly startTimeoutMs?: number;
  /** The memory limit of pre-started processes until a request asks for another. @default 256 */
  readonly prestartMemoryMiB?: number;
  /**
   * Start a replacement only once a run has ended, not when its process is taken: the run then
   * has the CPU to itself (the executor with its extension, where the load happens after the
   * response anyway). @default false
   */
  readonly refillAfterRun?: boolean;
}

/** JS heap a Deno host needs besides the Python heap (Pyodide's own JS objects), in MiB. */
export const HOST_HEAP_MIB = 192;
/** Resident memory a process may use beyond its baseline and the code's limit before it is killed. */
const RSS_SLACK_MIB = 192;
const RSS_POLL_MS = 100;
const SNAPSHOT_MAX_BYTES = 512 * 1024 * 1024;

const outcomeSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), result: z.string().nullable() }),
  z.object({ ok: z.literal(false), name: z.string(), message: z.string(), traceback: z.string() }),
]);
const messageSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('ready') }),
  z.object({ t: z.literal('o'), s: z.union([z.literal(1), z.literal(2)]), d: z.string() }),
  z.object({
    t: z.literal('result'),
    outcome: outcomeSchema,
    outputExceeded: z.boolean(),
    memoryExhausted: z.boolean(),
    files: z.array(z.tuple([z.string(), z.string()])).max(MAX_OUTPUT_FILES),
    filesTruncated: z.boolean(),
  }),
]);
type HostMessage = z.infer<typeof messageSchema>;
type ResultMessage = Extract<HostMessage, { t: 'result' }>;

type KillReason = 'deadline' | 'memory' | 'protocol' | 'closed';

/**
 * `deno run` flags of every Python host process: read access to the runtime files named, and
 * every other permission explicitly denied (so no prompt, no config and no flag can widen it).
 */
export function denoRunArgs(readablePaths: readonly string[]): string[] {
  return [
    'run',
    '--no-prompt',
    '--no-code-cache',
    '--no-config',
    '--no-lock',
    '--no-remote',
    '--no-npm',
    '--cached-only',
    `--allow-read=${readablePaths.join(',')}`,
    '--deny-write',
    '--deny-net',
    '--deny-env',
    '--deny-run',
    '--deny-ffi',
    '--deny-sys',
    '--deny-import',
  ];
}

/**
 * Nothing of the host's environment. DENO_DIR names a path Deno can never create (see
 * `PythonSandbox`): it then keeps its caches in memory, and a run can leave nothing on disk.
 */
export function denoEnv(denoDir: string): NodeJS.ProcessEnv {
  return { DENO_DIR: denoDir, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' };
}

/** One Deno process: loads Pyodide, takes one job, exits. */
class HostProcess {
  readonly ready: Promise<void>;
  /** Settles once the process has exited and its output is all read. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private listener: ((message: HostMessage) => void) | undefined;
  private protocolBytes = 0;
  private protocolCapBytes = 64 * 1024;
  private readonly lines = new LineSplitter();
  private diagnostics = new CappedText(16 * 1024);
  killedFor: KillReason | undefined;

  constructor(
    denoPath: string,
    links: NeutralLinks,
    readonly memoryMiB: number,
  ) {
    const readable = [links.pyodideDir, links.hostScript, ...(links.snapshot ? [links.snapshot] : [])];
    this.child = spawn(
      denoPath,
      [
        ...denoRunArgs(readable),
        `--v8-flags=--max-old-space-size=${HOST_HEAP_MIB + memoryMiB}`,
        links.hostScript,
        'serve',
        links.pyodideDir,
        links.snapshot ?? '',
      ],
      {
        env: denoEnv(links.denoDir),
        cwd: links.dir,
        stdio: ['pipe', 'pipe', 'pipe'],
        argv0: 'deno', // node:process reports it: not the binary's host path
        detached: true, // its own process group, killed as a whole
      },
    );
    // 'close', not 'exit': 'exit' can come before the last of stdout has been read, and with it
    // the result line (seen under load: "ended (code 0) before reporting a result"). 'close' comes
    // once the process has exited and its pipes are drained. Nothing else can hold them open: the
    // code may not start processes, and the deadline kills the whole group.
    this.exited = once(this.child, 'close').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
    }));
    this.child.stdin.on('error', () => undefined); // a process that died before its job
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => this.diagnostics.append(chunk));
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => this.receive(chunk));
    this.ready = new Promise<void>((resolve, reject) => {
      this.listener = (message) => {
        if (message.t === 'ready') resolve();
      };
      this.exited.then(({ code, signal }) =>
        reject(
          new Error(
            `the Python host exited (code ${code}, signal ${signal}) before it was ready: ${this.diagnostics.toString().slice(0, 2000)}`,
          ),
        ),
      );
    });
    this.ready.catch(() => undefined);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get stderrText(): string {
    return this.diagnostics.toString();
  }

  /** Sends the one job and routes the process's messages to `onMessage` from now on. */
  start(job: unknown, protocolCapBytes: number, onMessage: (message: HostMessage) => void): void {
    this.protocolCapBytes = protocolCapBytes;
    this.protocolBytes = 0;
    this.listener = onMessage;
    this.child.stdin.end(`${JSON.stringify(job)}\n`);
  }

  kill(reason: KillReason): void {
    this.killedFor ??= reason;
    const pid = this.child.pid;
    if (pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
  }

  private receive(chunk: string): void {
    this.protocolBytes += chunk.length;
    if (this.protocolBytes > this.protocolCapBytes) {
      this.kill('protocol');
      return;
    }
    for (const line of this.lines.push(chunk)) {
      if (line === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        continue; // not ours (the code can write to this pipe through the bridge); ignored
      }
      const message = messageSchema.safeParse(parsed);
      if (message.success) this.listener?.(message.data);
    }
  }
}

/** A counting semaphore: at most `limit` holders at once, others wait in order. */
class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async acquire(): Promise<() => void> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active -= 1;
      this.waiting.shift()?.();
    };
  }
}

export class PythonSandbox {
  private readonly workDir: string;
  private readonly denoDir: string;
  private readonly work: WorkDir;
  private snapshot: Promise<string> | undefined;
  private links: Promise<NeutralLinks> | undefined;
  private refilling: Promise<void> = Promise.resolve();
  private warming: Promise<void> = Promise.resolve();
  private readonly prestarted: HostProcess[] = [];
  private readonly prestartCount: number;
  private readonly semaphore: Semaphore;
  private readonly startTimeoutMs: number;
  private readonly refillAfterRun: boolean;
  private prestartMemoryMiB: number;
  private closed = false;
  private readonly live = new Set<HostProcess>();

  constructor(
    private readonly files: RuntimeFiles,
    options: PythonSandboxOptions = {},
  ) {
    removeLeftovers(tmpdir());
    this.work = createWorkDir(tmpdir(), files);
    this.workDir = this.work.dir;
    this.denoDir = this.work.denoDir;
    this.prestartCount = options.prestartedProcesses ?? 1;
    this.semaphore = new Semaphore(options.maxConcurrent ?? Math.max(1, availableParallelism()));
    this.startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.refillAfterRun = options.refillAfterRun ?? false;
    this.prestartMemoryMiB = options.prestartMemoryMiB ?? 256;
  }

  /** Builds the snapshot and fills the pool now rather than at the first execution. */
  warmUp(): Promise<void> {
    const warming = (async () => {
      await this.neutralLinks();
      this.refill();
      await Promise.all(this.prestarted.map((p) => p.ready.catch(() => undefined)));
    })();
    this.warming = warming.catch(() => undefined);
    return warming;
  }

  /**
   * Settles once the pool is full again and every pre-started process has loaded (or failed).
   * Lambda freezes the environment after each response, and a process still loading with it:
   * the executor awaits this before it returns, so the next run finds a loaded process.
   */
  async settled(): Promise<void> {
    await this.warming;
    await this.refilling;
    await Promise.all(this.prestarted.map((p) => p.ready.catch(() => undefined)));
  }

  async run(request: SandboxRequest): Promise<SandboxResult> {
    if (this.closed) throw new DependencyError('executor', 'the Python sandbox is closed');
    const started = performance.now();
    const release = await this.semaphore.acquire();
    try {
      return await this.runOnce(request, started);
    } finally {
      release();
      if (this.refillAfterRun) this.refill();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const processes = [...this.live];
    for (const p of processes) p.kill('closed');
    await Promise.all(processes.map((p) => p.exited));
    this.prestarted.length = 0;
    rmSync(this.workDir, { recursive: true, force: true });
  }

  private async runOnce(request: SandboxRequest, started: number): Promise<SandboxResult> {
    const { limits } = request;
    for (const name of Object.keys(request.files ?? {})) {
      const reason = unsafeFileNameReason(name);
      if (reason) throw new ValidationError(`input file name ${JSON.stringify(name)} ${reason}`);
    }
    const host = await this.takeProcess(limits.memoryMiB);
    const stdout = new CappedText(limits.maxOutputBytes);
    const stderr = new CappedText(limits.maxOutputBytes);
    let result: ResultMessage | undefined;
    let jobSentAt = performance.now();

    const baselineRssBytes = residentBytes(host.pid);
    const watchdog = setInterval(() => {
      const rss = residentBytes(host.pid);
      if (rss !== undefined && baselineRssBytes !== undefined) {
        if (rss > baselineRssBytes + (limits.memoryMiB + RSS_SLACK_MIB) * 1024 * 1024) host.kill('memory');
      }
    }, RSS_POLL_MS);
    const deadline = setTimeout(() => host.kill('deadline'), limits.timeoutMs);
    try {
      jobSentAt = performance.now();
      host.start(
        { code: request.code, files: request.files ?? {}, env: request.env ?? {}, limits },
        // Output is streamed JSON-escaped (up to 6 bytes a byte), plus the files and the result.
        12 * limits.maxOutputBytes + 1024 * 1024,
        (message) => {
          if (message.t === 'o') (message.s === 2 ? stderr : stdout).append(message.d);
          else if (message.t === 'result') result ??= message;
        },
      );
      await host.exited;
    } finally {
      clearTimeout(deadline);
      clearInterval(watchdog);
      host.kill('closed'); // the whole group, whatever the code started
      this.live.delete(host);
    }
    const endedAt = performance.now();

    const files = new CappedFiles(limits.maxOutputBytes, MAX_OUTPUT_FILES);
    for (const [name, content] of result?.files ?? []) {
      if (unsafeFileNameReason(name) === undefined) files.add(name, content);
    }
    const base = {
      stdout: stdout.toString(),
      stderr: stderr.toString(),
      stdoutTruncated: stdout.truncated || (result?.outputExceeded ?? false),
      stderrTruncated: stderr.truncated,
      files: files.toRecord(),
      filesTruncated: files.truncated || (result?.filesTruncated ?? false),
    };
    // Measured here, never taken from the process (the code can forge what it reports): the wait
    // for a loaded process, then everything from handing it the job to its exit.
    const timings = { startMs: jobSentAt - started, runMs: endedAt - jobSentAt };

    switch (host.killedFor) {
      case 'deadline':
        return { ...base, status: 'timed_out', timings };
      case 'memory':
        return { ...base, status: 'out_of_memory', timings };
      case 'protocol':
        return { ...base, stdoutTruncated: true, status: 'output_limit', timings };
      default:
        break;
    }
    if (!result) {
      if (/out of memory|heap limit/i.test(host.stderrText))
        return { ...base, status: 'out_of_memory', timings };
      const exit = await host.exited;
      const error: UserCodeError = {
        name: 'SandboxProcessExit',
        message: `the Python process ended (code ${exit.code}, signal ${exit.signal}) before reporting a result`,
        traceback: '',
      };
      return { ...base, status: 'failed', error, timings };
    }
    const { outcome } = result;
    if (result.outputExceeded || stdout.truncated || stderr.truncated) {
      return { ...base, status: 'output_limit', timings };
    }
    if (!outcome.ok) {
      const error: UserCodeError = {
        name: outcome.name,
        message: outcome.message,
        traceback: outcome.traceback,
      };
      if (outcome.name === 'MemoryError' || result.memoryExhausted) {
        return { ...base, status: 'out_of_memory', error, timings };
      }
      return { ...base, status: 'failed', error, timings };
    }
    const capped = new CappedText(limits.maxOutputBytes);
    if (outcome.result !== null) capped.append(outcome.result);
    return outcome.result === null
      ? { ...base, status: 'succeeded', timings }
      : { ...base, status: 'succeeded', result: capped.toString(), timings };
  }

  /** A pre-started process with the right memory limit, else a new one; then refills the pool. */
  private async takeProcess(memoryMiB: number): Promise<HostProcess> {
    const links = await this.neutralLinks();
    const index = this.prestarted.findIndex((p) => p.memoryMiB === memoryMiB);
    const host =
      index >= 0 ? (this.prestarted.splice(index, 1)[0] as HostProcess) : this.spawnHost(links, memoryMiB);
    this.prestartMemoryMiB = memoryMiB;
    if (!this.refillAfterRun) this.refill();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        host.ready,
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Pyodide did not load within ${this.startTimeoutMs} ms`)),
            this.startTimeoutMs,
          );
        }),
      ]);
    } catch (cause) {
      host.kill('closed');
      this.live.delete(host);
      throw new DependencyError(
        'executor',
        `the Python sandbox could not start: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    } finally {
      clearTimeout(timer);
    }
    return host;
  }

  private refill(): void {
    if (this.closed) return;
    // Pre-started processes for another memory limit are retired: the pool follows the last request.
    for (const stale of this.prestarted.filter((p) => p.memoryMiB !== this.prestartMemoryMiB)) {
      stale.kill('closed');
      this.live.delete(stale);
    }
    const keep = this.prestarted.filter((p) => p.memoryMiB === this.prestartMemoryMiB);
    this.prestarted.splice(0, this.prestarted.length, ...keep);
    if (this.prestartCount === 0) return;
    this.refilling = this.neutralLinks()
      .then((links) => {
        while (!this.closed && this.prestarted.length < this.prestartCount) {
          const host = this.spawnHost(links, this.prestartMemoryMiB);
          this.prestarted.push(host);
          // A pre-started process that dies is dropped from the pool, not handed out.
          host.exited.then(() => {
            const at = this.prestarted.indexOf(host);
            if (at >= 0) this.prestarted.splice(at, 1);
            this.live.delete(host);
          });
        }
      })
      .catch(() => undefined);
  }

  private spawnHost(links: NeutralLinks, memoryMiB: number): HostProcess {
    const host = new HostProcess(this.files.denoPath, links, memoryMiB);
    this.live.add(host);
    host.exited.then(() => this.live.delete(host));
    return host;
  }

  /** The paths processes are given, once the snapshot (if any) is there to link to. */
  private neutralLinks(): Promise<NeutralLinks> {
    this.links ??= this.snapshotPath().then((snapshotPath) => this.work.links(snapshotPath || undefined));
    this.links.catch(() => {
      this.links = undefined;
    });
    return this.links;
  }

  /** The snapshot file: the prebuilt one, else one built once by this sandbox into its private folder. */
  private snapshotPath(): Promise<string> {
    if (this.files.snapshotPath) return Promise.resolve(this.files.snapshotPath);
    if (!this.snapshot) {
      this.snapshot = buildSnapshot(this.files, this.denoDir).then((bytes) => {
        const path = join(this.workDir, 'pyodide.snapshot');
        writeFileSync(path, bytes, { mode: 0o400 });
        return path;
      });
      this.snapshot.catch(() => {
        this.snapshot = undefined;
      });
    }
    return this.snapshot.catch((cause) => {
      throw new DependencyError(
        'executor',
        `the Pyodide snapshot could not be built: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    });
  }
}

/** Runs the host in snapshot mode (same permissions as an execution) and returns the snapshot bytes. */
export async function buildSnapshot(files: RuntimeFiles, denoDir: string): Promise<Buffer> {
  const child = spawn(
    files.denoPath,
    [
      ...denoRunArgs([files.pyodideDir, files.hostScriptPath]),
      files.hostScriptPath,
      'snapshot',
      files.pyodideDir,
    ],
    {
      env: denoEnv(denoDir),
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const chunks: Buffer[] = [];
  let size = 0;
  const diagnostics = new CappedText(16 * 1024);
  child.stdout.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > SNAPSHOT_MAX_BYTES) child.kill('SIGKILL');
    else chunks.push(chunk);
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => diagnostics.append(chunk));
  const [code] = (await once(child, 'close')) as [number | null]; // all of stdout read, as above
  if (code !== 0 || size === 0 || size > SNAPSHOT_MAX_BYTES) {
    throw new Error(`deno exited with code ${code}: ${diagnostics.toString().slice(0, 2000)}`);
  }
  return Buffer.concat(chunks);
}

/** Resident set size of a process (Linux /proc), or undefined where it cannot be read. */
function residentBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
