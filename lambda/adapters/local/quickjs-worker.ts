/**
 * The local server's JavaScript and TypeScript executions, in worker threads.
 *
 * The server runs requests, dynalite and the SDK on one thread. Every execution gets a fresh
 * WebAssembly instance and memory (`lambda/sandbox/quickjs-sandbox.ts`), and V8 collects those
 * memories with full garbage collections that paused that thread every few executions: the
 * 95th percentile of a trivial run at concurrency 1 was 26 to 31 ms for a median of 10 to 12.
 * In a worker thread those collections pause only the worker. Measured A/B/A/B: p95 17 and 16 ms,
 * p50 9.0 and 9.2 ms; at concurrency 8, 25 to 40% more executions per second.
 *
 * A pool of `threads` workers (the local server runs one per core plus one, as many as its fair
 * queues admit: `lambda/adapters/local/executor.ts`), each running the same QuickJsSandbox, so isolation is
 * unchanged: each execution in its own instance. A worker is given one execution at a time; the rest wait here, in order, and go to the next free worker. So one
 * caller's busy loop holds one worker, not every caller's run, and a failure touches only the
 * execution that was in the worker: if a worker fails, exits, or goes past its execution's
 * deadline plus `hangGraceMs` without answering, it is terminated, that one execution fails with a
 * DependencyError (nothing is reported as run), and the executions still waiting go to a new worker.
 *
 * TypeScript is transformed here, in this thread, before a worker is taken (`prepareTypeScript`):
 * the transform is an esbuild process bounded by the run's limits, and a process spawned by a
 * worker thread that is then terminated is never reaped (it stays a zombie of the server).
 */
import { Worker } from 'node:worker_threads';
import { DependencyError } from '../../core/errors.ts';
import type { SandboxRequest, SandboxResult } from '../../core/types.ts';
import type { QuickJsSandboxOptions, RunScope } from '../../sandbox/quickjs-sandbox.ts';
import { withSessionState } from '../../sandbox/session-state.ts';
import { needsTransform, prepareTypeScript, stopSpareTransform } from '../../sandbox/typescript.ts';

export interface QuickJsWorkerOptions {
  /** Options of the QuickJsSandbox inside the workers. @default {} */
  readonly sandbox?: QuickJsSandboxOptions;
  /** How much longer than its execution's deadline a worker may go without answering. @default 5_000 */
  readonly hangGraceMs?: number;
  /** The workers' entry module (tests use stand-ins). @default ./quickjs-worker-entry.mjs */
  readonly entry?: URL;
  /** Worker threads, each running one execution at a time. @default 2 */
  readonly threads?: number;
}

interface Execution {
  readonly request: SandboxRequest;
  /** Time the run spent before reaching a worker (its TypeScript transform). */
  readonly spentMs: number;
  /** Whose packages it may import, and whether the transform turned its imports into `require` calls. */
  readonly scope: RunScope;
  readonly resolve: (result: SandboxResult) => void;
  readonly reject: (error: Error) => void;
}

interface Thread {
  readonly worker: Worker;
  running: { readonly id: number; readonly execution: Execution } | undefined;
  watchdog: NodeJS.Timeout | undefined;
  gone: boolean;
}

type Reply =
  | { readonly id: number; readonly result: SandboxResult }
  | { readonly id: number; readonly error: string };

export class QuickJsWorker {
  private readonly entry: URL;
  private readonly hangGraceMs: number;
  private readonly maxThreads: number;
  private readonly threads = new Set<Thread>();
  private readonly waiting: Execution[] = [];
  private nextId = 0;
  private closed = false;

  constructor(private readonly options: QuickJsWorkerOptions = {}) {
    this.entry = options.entry ?? new URL('./quickjs-worker-entry.mjs', import.meta.url);
    this.hangGraceMs = options.hangGraceMs ?? 5_000;
    this.maxThreads = options.threads ?? 2;
    if (!Number.isInteger(this.maxThreads) || this.maxThreads < 1) {
      throw new RangeError(`threads must be a positive integer, not ${this.maxThreads}`);
    }
  }

  /** Worker threads this pool runs at most (what a scheduler in front of it may keep busy). */
  get capacity(): number {
    return this.maxThreads;
  }

  async run(request: SandboxRequest, spentBeforeMs = 0, runScope: RunScope = {}): Promise<SandboxResult> {
    if (this.closed) throw new DependencyError('executor', 'the JavaScript sandbox is closed');
    let spentMs = spentBeforeMs;
    let javascript = request;
    let imports = false;
    if (needsTransform(request)) {
      const prepared = await prepareTypeScript(request, this.options.sandbox?.esbuildBinaryPath);
      // A session's call the transform refused keeps the state it started from (#15).
      if ('result' in prepared) return withSessionState(request, prepared.result, undefined);
      javascript = prepared.request;
      spentMs += prepared.spentMs;
      imports = prepared.imports;
      if (this.closed) throw new DependencyError('executor', 'the JavaScript sandbox is closed');
    }
    return new Promise<SandboxResult>((resolve, reject) => {
      const scope: RunScope = { ...runScope, prepared: { imports } };
      this.waiting.push({ request: javascript, spentMs, scope, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const execution of this.waiting.splice(0)) {
      execution.reject(new DependencyError('executor', 'the JavaScript sandbox was closed'));
    }
    await Promise.all([
      ...[...this.threads].map((thread) => this.fail(thread, 'the JavaScript sandbox was closed')),
      stopSpareTransform(),
    ]);
  }

  /** Gives waiting executions to idle workers, starting workers up to the pool's size. */
  private dispatch(): void {
    while (this.waiting.length > 0 && !this.closed) {
      const thread = this.idleThread();
      if (!thread) return;
      const execution = this.waiting.shift() as Execution;
      const id = this.nextId++;
      thread.running = { id, execution };
      thread.worker.ref();
      const { timeoutMs } = execution.request.limits;
      const silenceMs = Math.max(0, timeoutMs - execution.spentMs) + this.hangGraceMs;
      thread.watchdog = setTimeout(
        () => void this.fail(thread, `the JavaScript worker answered nothing for ${silenceMs} ms`),
        silenceMs,
      );
      thread.worker.postMessage({
        id,
        request: execution.request,
        spentMs: execution.spentMs,
        scope: execution.scope,
      });
    }
  }

  /**
   * An idle worker, if any. At first use the whole pool is started (a worker takes up to a second
   * to load under tsx), so the second caller does not wait for its worker to start.
   */
  private idleThread(): Thread | undefined {
    while (this.threads.size < this.maxThreads) this.startThread();
    for (const thread of this.threads) if (!thread.running && !thread.gone) return thread;
    return undefined;
  }

  private startThread(): Thread {
    const worker = new Worker(this.entry, { workerData: this.options.sandbox ?? {} });
    const thread: Thread = { worker, running: undefined, watchdog: undefined, gone: false };
    worker.on('message', (reply: Reply) => {
      const running = thread.running;
      if (!running || running.id !== reply.id) return;
      clearTimeout(thread.watchdog);
      thread.watchdog = undefined;
      thread.running = undefined;
      worker.unref();
      if ('result' in reply) running.execution.resolve(reply.result);
      else {
        running.execution.reject(
          new DependencyError('executor', `the JavaScript sandbox failed: ${reply.error}`),
        );
      }
      this.dispatch();
    });
    worker.on('error', (error) => void this.fail(thread, `the JavaScript worker failed: ${error.message}`));
    worker.on('exit', (code) => void this.fail(thread, `the JavaScript worker exited (code ${code})`));
    worker.unref();
    this.threads.add(thread);
    return thread;
  }

  /**
   * Fails the one execution `thread` was running and terminates it; executions still waiting go
   * to another worker (a new one takes its place).
   */
  private async fail(thread: Thread, reason: string): Promise<void> {
    if (thread.gone) return;
    thread.gone = true;
    this.threads.delete(thread);
    clearTimeout(thread.watchdog);
    thread.watchdog = undefined;
    const running = thread.running;
    thread.running = undefined;
    running?.execution.reject(new DependencyError('executor', reason));
    this.dispatch();
    await thread.worker.terminate();
  }
}
