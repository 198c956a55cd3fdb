/**
 * An internal Lambda extension that lets the pre-started Python process finish loading after the
 * response and before the freeze.
 *
 * Lambda freezes the environment once the runtime and every registered extension have asked for
 * the next event; it returns the function's response to the caller as soon as the runtime posts
 * it. So an extension that asks for its next event only once `settle()` has resolved moves the
 * replacement's load out of the caller's latency (it is still billed). Without it, a replacement
 * started during a run is frozen half-loaded and the next run pays the rest
 * (bench/freeze-emulation.ts, docs/sandbox.md).
 *
 * Bounded: `settle()` is awaited at most `maxInitWaitMs` during init and, after a run, `maxWaitMs`
 * and until shortly before the invocation's deadline; every failure of the Extensions API ends
 * the extension (the executor keeps working without it; only the warm path is lost).
 */
/** How long before the invocation's deadline the extension stops waiting. */
const DEADLINE_MARGIN_MS = 500;

export interface SettleExtensionOptions {
  /** host:port of the Runtime API (AWS_LAMBDA_RUNTIME_API). */
  readonly runtimeApi: string;
  /** What to wait for after each invocation's run, before Lambda may freeze. */
  readonly settle: () => Promise<void>;
  /** @default 10_000 */
  readonly maxWaitMs?: number;
  /**
   * The wait during init (for the first process), kept well under Lambda's 10 s limit on an
   * on-demand init: past it init ends anyway, and the first run waits for the rest of the load.
   * @default 5_000
   */
  readonly maxInitWaitMs?: number;
  /** @default 'custody-python-prestart' */
  readonly name?: string;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Told once if the extension stops (registration refused, API error). */
  readonly onStop?: (reason: string) => void;
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export class SettleExtension {
  /** One per invocation, in order: resolved when its run has ended; the extension waits on it. */
  private readonly runs = new Map<number, Deferred>();
  private invokes = 0;
  private runsEnded = 0;
  private stopped = false;
  readonly done: Promise<void>;

  private constructor(
    private readonly options: SettleExtensionOptions,
    private readonly id: string,
  ) {
    this.done = this.loop();
  }

  /**
   * Registers; undefined (and `onStop`) if the Runtime API refuses. Lambda accepts a registration
   * during init only: the handler's module (an ES module) awaits this at its top level.
   */
  static async register(options: SettleExtensionOptions): Promise<SettleExtension | undefined> {
    try {
      const response = await (options.fetch ?? fetch)(
        `http://${options.runtimeApi}/2020-01-01/extension/register`,
        {
          method: 'POST',
          headers: { 'Lambda-Extension-Name': options.name ?? 'custody-python-prestart' },
          body: JSON.stringify({ events: ['INVOKE'] }),
        },
      );
      const id = response.headers.get('lambda-extension-identifier');
      await response.arrayBuffer();
      if (!response.ok || !id) {
        options.onStop?.(`registration refused (HTTP ${response.status})`);
        return undefined;
      }
      return new SettleExtension(options, id);
    } catch (error) {
      options.onStop?.(`registration failed: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** The handler calls this when its run has ended (its response is about to be posted). */
  runEnded(): void {
    this.run(this.runsEnded).resolve();
    this.runsEnded += 1;
  }

  private run(index: number): Deferred {
    let run = this.runs.get(index);
    if (!run) {
      run = deferred();
      this.runs.set(index, run);
    }
    return run;
  }

  private async loop(): Promise<void> {
    const maxWaitMs = this.options.maxWaitMs ?? 10_000;
    // Init ends when this asks for its first event: once the first process has loaded.
    await this.bounded(this.options.settle(), this.options.maxInitWaitMs ?? 5_000);
    while (!this.stopped) {
      // Asking for the next event tells Lambda this extension is done (with init, then with the
      // previous invocation); it answers when the next invocation starts.
      let eventType: string;
      let deadlineMs: number | undefined;
      try {
        const response = await (this.options.fetch ?? fetch)(
          `http://${this.options.runtimeApi}/2020-01-01/extension/event/next`,
          {
            headers: { 'Lambda-Extension-Identifier': this.id },
          },
        );
        const event = (await response.json()) as { eventType?: string; deadlineMs?: unknown };
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        eventType = String(event.eventType);
        if (typeof event.deadlineMs === 'number') deadlineMs = event.deadlineMs;
      } catch (error) {
        this.stop(`next event failed: ${(error as Error).message}`);
        return;
      }
      if (eventType !== 'INVOKE') {
        this.stop(`event ${eventType}`);
        return;
      }
      const index = this.invokes;
      this.invokes += 1;
      await this.bounded(
        this.run(index).promise.then(() => this.options.settle()),
        // Lambda's timeout covers the extension's part of the invocation too: end before it.
        deadlineMs === undefined
          ? maxWaitMs
          : Math.min(maxWaitMs, Math.max(0, deadlineMs - Date.now() - DEADLINE_MARGIN_MS)),
      );
      this.runs.delete(index);
    }
  }

  /** Waits for `work` (its failure too), at most `maxWaitMs`. */
  private async bounded(work: Promise<void>, maxWaitMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      work.catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, maxWaitMs);
      }),
    ]);
    clearTimeout(timer);
  }

  private stop(reason: string): void {
    this.stopped = true;
    this.options.onStop?.(reason);
  }
}
