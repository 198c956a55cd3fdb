/**
 * The local server's JavaScript and TypeScript executions, in a worker thread.
 *
 * The server runs requests, dynalite and the SDK on one thread. Every execution gets a fresh
 * WebAssembly instance and memory (`lambda/sandbox/quickjs-sandbox.ts`), and V8 collects those
 * memories with full garbage collections that paused that thread every few executions: the
 * 95th percentile of a trivial run at concurrency 1 was 26 to 31 ms for a median of 10 to 12.
 * In a worker thread those collections pause only the worker. Measured A/B/A/B: p95 17 and 16 ms,
 * p50 9.0 and 9.2 ms; at concurrency 8, 25 to 40% more executions per second.
 *
 * The worker runs the same QuickJsSandbox, so isolation is unchanged: executions run one at a
 * time in it, each in its own instance. The executor Lambda runs one execution per invocation
 * and keeps the sandbox in its own thread.
 *
 * If the worker fails or exits, or goes longer without answering anything than the longest
 * deadline of what it has been given plus `hangGraceMs`, it is terminated, every execution
 * waiting on it fails with a DependencyError (nothing is reported as run), and the next execution
 * starts a new worker. The silence is measured from its last answer, not from each request: under
 * load, executions wait their turn in the worker, and one answer per deadline is all a live
 * worker owes (a queued execution's own deadline runs while it waits, as it does in-thread).
 */
import { Worker } from 'node:worker_threads';
import { DependencyError } from '../lambda/core/errors.ts';
import type { SandboxRequest, SandboxResult } from '../lambda/core/types.ts';
import type { QuickJsSandboxOptions } from '../lambda/sandbox/quickjs-sandbox.ts';

export interface QuickJsWorkerOptions {
  /** Options of the QuickJsSandbox inside the worker. @default {} */
  readonly sandbox?: QuickJsSandboxOptions;
  /** How much longer than the longest deadline it holds the worker may go without answering. @default 5_000 */
  readonly hangGraceMs?: number;
  /** The worker's entry module (tests use stand-ins). @default ./quickjs-worker-entry.mjs */
  readonly entry?: URL;
}

interface Waiting {
  readonly resolve: (result: SandboxResult) => void;
  readonly reject: (error: Error) => void;
  readonly timeoutMs: number;
}

interface Thread {
  readonly worker: Worker;
  readonly waiting: Map<number, Waiting>;
  /** When the worker last answered, or was first given work after being idle. */
  lastProgressAt: number;
  watchdog: NodeJS.Timeout | undefined;
}

type Reply =
  | { readonly id: number; readonly result: SandboxResult }
  | { readonly id: number; readonly error: string };

export class QuickJsWorker {
  private readonly entry: URL;
  private readonly hangGraceMs: number;
  private thread: Thread | undefined;
  private nextId = 0;
  private closed = false;

  constructor(private readonly options: QuickJsWorkerOptions = {}) {
    this.entry = options.entry ?? new URL('./quickjs-worker-entry.mjs', import.meta.url);
    this.hangGraceMs = options.hangGraceMs ?? 5_000;
  }

  run(request: SandboxRequest): Promise<SandboxResult> {
    if (this.closed)
      return Promise.reject(new DependencyError('executor', 'the JavaScript sandbox is closed'));
    const thread = this.current();
    const id = this.nextId++;
    if (thread.waiting.size === 0) {
      thread.worker.ref();
      thread.lastProgressAt = performance.now();
    }
    return new Promise<SandboxResult>((resolve, reject) => {
      thread.waiting.set(id, { resolve, reject, timeoutMs: request.limits.timeoutMs });
      this.watch(thread);
      thread.worker.postMessage({ id, request });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const thread = this.thread;
    if (thread) await this.fail(thread, 'the JavaScript sandbox was closed');
  }

  private current(): Thread {
    if (this.thread) return this.thread;
    const worker = new Worker(this.entry, { workerData: this.options.sandbox ?? {} });
    const thread: Thread = {
      worker,
      waiting: new Map(),
      lastProgressAt: performance.now(),
      watchdog: undefined,
    };
    worker.on('message', (reply: Reply) => {
      const waiting = thread.waiting.get(reply.id);
      if (!waiting) return;
      thread.waiting.delete(reply.id);
      thread.lastProgressAt = performance.now();
      this.watch(thread);
      if (thread.waiting.size === 0) worker.unref();
      if ('result' in reply) waiting.resolve(reply.result);
      else waiting.reject(new DependencyError('executor', `the JavaScript sandbox failed: ${reply.error}`));
    });
    worker.on('error', (error) => void this.fail(thread, `the JavaScript worker failed: ${error.message}`));
    worker.on('exit', (code) => void this.fail(thread, `the JavaScript worker exited (code ${code})`));
    worker.unref();
    this.thread = thread;
    return thread;
  }

  /**
   * (Re)arms the watchdog: the worker must answer something within the longest deadline of what
   * it holds, plus the grace, of its last answer. Nothing waiting, no watchdog.
   */
  private watch(thread: Thread): void {
    clearTimeout(thread.watchdog);
    thread.watchdog = undefined;
    if (thread.waiting.size === 0) return;
    let longestMs = 0;
    for (const waiting of thread.waiting.values()) longestMs = Math.max(longestMs, waiting.timeoutMs);
    const silenceMs = longestMs + this.hangGraceMs;
    const dueInMs = thread.lastProgressAt + silenceMs - performance.now();
    thread.watchdog = setTimeout(
      () => void this.fail(thread, `the JavaScript worker answered nothing for ${silenceMs} ms`),
      Math.max(0, dueInMs),
    );
  }

  /** Fails everything waiting on `thread` and terminates it; the next run starts a new one. */
  private async fail(thread: Thread, reason: string): Promise<void> {
    if (this.thread === thread) this.thread = undefined;
    clearTimeout(thread.watchdog);
    thread.watchdog = undefined;
    for (const waiting of thread.waiting.values()) waiting.reject(new DependencyError('executor', reason));
    thread.waiting.clear();
    await thread.worker.terminate();
  }
}
