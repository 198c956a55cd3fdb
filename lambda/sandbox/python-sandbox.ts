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
import { rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DependencyError, ValidationError } from '../core/errors.ts';
import { unsafeFileNameReason } from '../core/file-map.ts';
import type { SandboxRequest, SandboxResult } from '../core/types.ts';
import { CappedText } from './capped-text.ts';
import { buildSnapshot, denoEnv, HostProcess, residentBytes } from './python-host-process.ts';
import { hostInputFiles, type ResultMessage, sandboxResultOf } from './python-host-protocol.ts';
import {
  discardSnapshot,
  obtainSnapshot,
  type SnapshotEvent,
  snapshotKeyParts,
} from './python-snapshot-cache.ts';
import { pythonSessionJob, sessionProtocolBytes } from './python-state.ts';
import { createWorkDir, type NeutralLinks, removeLeftovers, type WorkDir } from './python-work-dir.ts';
import type { RuntimeFiles } from './runtime-files.ts';
import { checkStartingState, withSessionState } from './session-state.ts';

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
  /**
   * An owner-only folder to keep the locally built snapshot in across starts (local mode:
   * `.custody/python`), keyed by the Pyodide, Deno and host-script versions
   * (`python-snapshot-cache.ts`). Unused when the runtime files hold a prebuilt snapshot.
   * @default none: built at first use into the sandbox's temp folder, removed with it
   */
  readonly snapshotDir?: string;
  /** Told when the snapshot is built, reused or rejected (start-up progress). */
  readonly onSnapshot?: (event: SnapshotEvent) => void;
  /**
   * The Pyodide packages each profile may load, with their dependencies, when the runtime's
   * packages folder holds those of several profiles (local mode). @default every package in it
   */
  readonly pythonPackages?: Readonly<Record<string, readonly string[]>>;
  /** Profile -> why its packages could not be prepared (local mode, no cache and no network). */
  readonly pythonPackageProblems?: Readonly<Record<string, string>>;
}

/** Resident memory a process may use beyond its baseline and the code's limit before it is killed. */
const RSS_SLACK_MIB = 192;
const RSS_POLL_MS = 100;

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

/** What the host is told of the profile's packages (python-host.mjs `preparePackages`). */
function pythonPackagesJob(
  profile: string | undefined,
  { pythonPackages: perProfile, pythonPackageProblems: problems }: PythonSandboxOptions,
): { profile?: string; packages?: readonly string[]; problem?: string } {
  const problem = profile && problems && Object.hasOwn(problems, profile) ? problems[profile] : undefined;
  return {
    ...(profile ? { profile } : {}),
    ...(problem ? { problem } : {}),
    ...(perProfile
      ? { packages: (profile && Object.hasOwn(perProfile, profile) ? perProfile[profile] : []) ?? [] }
      : {}),
  };
}

export class PythonSandbox {
  private readonly workDir: string;
  private readonly denoDir: string;
  private readonly work: WorkDir;
  private snapshot: Promise<string> | undefined;
  /** The snapshot came from `snapshotDir` and no process has loaded it yet. */
  private snapshotUnproven = false;
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
  /** Kills a snapshot build still running when the sandbox closes. */
  private readonly closing = new AbortController();
  private readonly live = new Set<HostProcess>();

  constructor(
    private readonly files: RuntimeFiles,
    private readonly options: PythonSandboxOptions = {},
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
      const links = await this.neutralLinks();
      if (this.snapshotUnproven && !(await this.loadsSnapshot(links))) await this.neutralLinks();
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
    this.closing.abort();
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
    checkStartingState(request);
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
        {
          code: request.code,
          files: hostInputFiles(request.files),
          env: request.env ?? {},
          limits,
          python: pythonPackagesJob(request.profile, this.options),
          ...pythonSessionJob(request),
          // #16: name -> key -> base64, written read-only under /data by the host script.
          ...(request.datasets ? { datasets: request.datasets } : {}),
        },
        // Output is streamed JSON-escaped (up to 6 bytes a byte), plus the files and the result,
        // plus a session's state.
        12 * limits.maxOutputBytes + 1024 * 1024 + sessionProtocolBytes(request),
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

    // Measured here, never taken from the process (the code can forge what it reports): the wait
    // for a loaded process, then everything from handing it the job to its exit.
    const timings = { startMs: jobSentAt - started, runMs: endedAt - jobSentAt };
    const answer = sandboxResultOf({
      result,
      stdout,
      stderr,
      maxOutputBytes: limits.maxOutputBytes,
      killedFor: host.killedFor,
      stderrText: host.stderrText,
      exit: await host.exited,
      timings,
    });
    const reported = result as ResultMessage | undefined;
    return withSessionState(request, answer, reported?.state && { ...reported.state, javascript: undefined });
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
          this.addPrestarted(this.spawnHost(links, this.prestartMemoryMiB));
        }
      })
      .catch(() => undefined);
  }

  private addPrestarted(host: HostProcess): void {
    this.prestarted.push(host);
    // A pre-started process that dies is dropped from the pool, not handed out.
    host.exited.then(() => {
      const at = this.prestarted.indexOf(host);
      if (at >= 0) this.prestarted.splice(at, 1);
      this.live.delete(host);
    });
  }

  /**
   * Whether Deno loads the kept snapshot: one process is started with it (and joins the pool).
   * If it exits before it is ready, the file is discarded and the next `neutralLinks()` builds
   * a fresh one; a process merely slow to load (a loaded machine) proves nothing either way.
   */
  private async loadsSnapshot(links: NeutralLinks): Promise<boolean> {
    const host = this.spawnHost(links, this.prestartMemoryMiB);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.startTimeoutMs);
    });
    try {
      const outcome = await Promise.race([host.ready.then(() => 'ready' as const), timedOut]);
      if (outcome === 'ready') this.snapshotUnproven = false;
      if (this.prestarted.length < this.prestartCount && !this.closed) this.addPrestarted(host);
      else host.kill('closed');
      return true;
    } catch (cause) {
      host.kill('closed');
      const path = links.snapshot ? await this.snapshot : undefined;
      if (path) {
        this.options.onSnapshot?.({
          kind: 'rejected',
          path,
          reason: `Deno refused it: ${(cause as Error).message.slice(0, 300)}`,
        });
        discardSnapshot(path);
      }
      this.snapshot = undefined;
      this.links = undefined;
      this.snapshotUnproven = false;
      return false;
    } finally {
      clearTimeout(timer);
    }
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

  /**
   * The snapshot file: the prebuilt one; else the one kept in `snapshotDir` (built there if
   * missing or not trusted); else one built once by this sandbox into its private folder.
   */
  private snapshotPath(): Promise<string> {
    if (this.files.snapshotPath) return Promise.resolve(this.files.snapshotPath);
    if (!this.snapshot) {
      const { snapshotDir, onSnapshot } = this.options;
      const build = () => buildSnapshot(this.files, this.denoDir, this.closing.signal);
      this.snapshot = snapshotDir
        ? snapshotKeyParts(this.files, denoEnv(this.denoDir)).then((parts) =>
            obtainSnapshot({
              dir: snapshotDir,
              parts,
              build,
              onEvent: (event) => {
                this.snapshotUnproven = event.kind === 'reused';
                onSnapshot?.(event);
              },
            }),
          )
        : this.buildPrivateSnapshot(build);
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

  private async buildPrivateSnapshot(build: () => Promise<Buffer>): Promise<string> {
    const path = join(this.workDir, 'pyodide.snapshot');
    this.options.onSnapshot?.({ kind: 'building', path });
    const started = performance.now();
    const bytes = await build();
    writeFileSync(path, bytes, { mode: 0o400 });
    this.options.onSnapshot?.({ kind: 'built', path, bytes: bytes.length, ms: performance.now() - started });
    return path;
  }
}
