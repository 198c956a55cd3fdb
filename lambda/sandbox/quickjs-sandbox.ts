/**
 * JavaScript (and, after a TypeScript transform, TypeScript) in QuickJS compiled to WebAssembly.
 *
 * Each execution gets a fresh WebAssembly instance of the engine with its own linear memory (so no
 * byte a previous execution left in freed memory is there), and in it a fresh QuickJS runtime and
 * context with a memory limit, a stack limit and an interrupt deadline. The only host functions
 * inside are the prelude's stream and file writers. The next instance is prepared in the
 * background while the current one runs, and is discarded after one execution.
 *
 * QuickJS's own malloc limit does not see large blocks in this build (an ArrayBuffer of 1 MiB is
 * counted as a few bytes), so the hard memory limit is the instance's linear memory: its `grow` is
 * guarded, and a growth past the limit fails inside the engine as an ordinary out-of-memory.
 */
import variantModule from '@jitl/quickjs-singlefile-cjs-release-sync';
import type { QuickJSSyncVariant } from 'quickjs-emscripten-core';
import {
  newVariant,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  QuickJSWASMModule,
} from 'quickjs-emscripten-core';
import { unsafeFileNameReason } from '../core/file-map.ts';
import { MAX_OUTPUT_FILES } from '../core/limits.ts';
import type { SandboxRequest, SandboxResult, SandboxStatus, UserCodeError } from '../core/types.ts';
import { CappedFiles, CappedText } from './capped-text.ts';
import { PRELUDE_FILENAME, PRELUDE_SOURCE } from './quickjs-prelude.ts';
import { prepareTypeScript, stopSpareTransform } from './typescript.ts';
import { shrinkMemoryImport } from './wasm-memory.ts';

/** QuickJS's own stack limit. Kept well below Node's native stack so QuickJS reports the overflow first. */
const QUICKJS_STACK_BYTES = 200 * 1024;
/** Pending promise jobs run per slice while a returned promise settles. */
const JOBS_PER_SLICE = 1_000;
const USER_FILENAME = 'main.js';
const WASM_PAGE_BYTES = 64 * 1024;
/** The engine's initial linear memory as its build declares it, in 64 KiB pages (see `wasm-memory.ts`). */
const INITIAL_PAGES = 256;
/** The engine is 32-bit: 2 GiB is its ceiling whatever the limit. */
const MAXIMUM_PAGES = 32_768;
/** Traceback lines kept (a deep recursion produces thousands of identical frames). */
const MAX_TRACEBACK_LINES = 50;

/** One engine instance, used for exactly one execution. */
interface Engine {
  readonly module: QuickJSWASMModule;
  /** Caps the instance's linear memory at `bytes` from now on. */
  capMemory(bytes: number): void;
  memoryBytes(): number;
  /** True once a growth past the cap was refused (the code ran out of memory). */
  memoryExhausted(): boolean;
}

/** The part of `WebAssembly.Memory` used here (the ES lib this project compiles against lacks it). */
interface WasmMemoryLike {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
const WasmMemory = (
  globalThis as unknown as {
    WebAssembly: { Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemoryLike };
  }
).WebAssembly.Memory;
type VariantMemory = NonNullable<Parameters<typeof newVariant>[1]['wasmMemory']>;

async function newEngine(): Promise<Engine> {
  const memory = new WasmMemory({ initial: await initialPages(), maximum: MAXIMUM_PAGES });
  const grow = WasmMemory.prototype.grow;
  let capBytes = Number.POSITIVE_INFINITY;
  let refused = false;
  // Emscripten grows the heap with `memory.grow(pages)` inside a try/catch: throwing here makes
  // the engine's malloc return NULL, which QuickJS reports to the code as "out of memory".
  Object.defineProperty(memory, 'grow', {
    value: (pages: number) => {
      if (memory.buffer.byteLength + pages * WASM_PAGE_BYTES > capBytes) {
        refused = true;
        throw new RangeError('custody: the execution reached its memory limit');
      }
      return Reflect.apply(grow, memory, [pages]);
    },
  });
  const module = await instantiateEngine(memory as unknown as VariantMemory);
  return {
    module,
    capMemory: (bytes) => {
      capBytes = bytes;
    },
    memoryBytes: () => memory.buffer.byteLength,
    memoryExhausted: () => refused,
  };
}

/**
 * The engine variant with its WebAssembly inlined, so an esbuild bundle needs no .wasm file. It is
 * CommonJS: depending on the loader its default import is the variant or `{ default: variant }`.
 */
const quickJsVariant: QuickJSSyncVariant =
  (variantModule as unknown as { default?: QuickJSSyncVariant }).default ??
  (variantModule as unknown as QuickJSSyncVariant);

/**
 * The variant with its two loaders imported once: a dynamic import per instance costs milliseconds
 * when a module loader hook is installed (`npm start` runs under tsx).
 */
const loadedVariant: QuickJSSyncVariant = {
  ...quickJsVariant,
  importFFI: once(() => quickJsVariant.importFFI()),
  importModuleLoader: once(() => quickJsVariant.importModuleLoader()),
};

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= load();
    loaded.catch(() => {
      loaded = undefined;
    });
    return loaded;
  };
}

/** The parts of the WebAssembly API used to take the compiled module (not in this project's ES lib). */
type WasmModule = NonNullable<Parameters<typeof newVariant>[1]['wasmModule']>;
interface WasmApi {
  instantiate(...args: unknown[]): Promise<unknown>;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The compiled engine, with the initial memory its instances are created with. */
interface CompiledEngine {
  readonly module: WasmModule;
  readonly pages: number;
}
let compiledEngine: Promise<CompiledEngine | undefined> | undefined;

/**
 * The initial pages of the next instance's memory: the module's declared size until the engine is
 * compiled, then the size its layout needs (exported so a test notices if an engine upgrade stops
 * the memory import from shrinking).
 */
export async function initialPages(): Promise<number> {
  return (await compiledEngine)?.pages ?? INITIAL_PAGES;
}

/**
 * A fresh engine instance on `memory`, from the engine's compiled WebAssembly module. Compiling is
 * most of what a fresh instance costs (about 10 ms); a compiled module holds no state, so it is
 * compiled once per process and shared, while every execution still gets its own instance and its
 * own linear memory. The single-file variant compiles from bytes it embeds and does not expose, so
 * the module is taken from the first instantiation, whose bytes first get a smaller memory import
 * (`wasm-memory.ts`). Should that instantiation fail, the next instance tries again, and meanwhile
 * each instance compiles its own (slower, same isolation).
 */
async function instantiateEngine(memory: VariantMemory): Promise<QuickJSWASMModule> {
  if (compiledEngine === undefined) {
    let settle: (compiled: CompiledEngine | undefined) => void = () => undefined;
    compiledEngine = new Promise((resolve) => {
      settle = resolve;
    });
    const instantiate = wasmApi.instantiate;
    let captured: CompiledEngine | undefined;
    wasmApi.instantiate = async function capture(this: unknown, bytes: unknown, ...rest: unknown[]) {
      const shrunk = bytes instanceof Uint8Array ? shrinkMemoryImport(bytes) : undefined;
      const result = await Reflect.apply(instantiate, this, [shrunk?.bytes ?? bytes, ...rest]);
      const compiled = (result as { module?: WasmModule } | undefined)?.module;
      if (compiled !== undefined) captured ??= { module: compiled, pages: shrunk?.pages ?? INITIAL_PAGES };
      return result;
    };
    try {
      return await engineFromVariant(newVariant(loadedVariant, { wasmMemory: memory }));
    } finally {
      wasmApi.instantiate = instantiate;
      if (captured === undefined) compiledEngine = undefined;
      settle(captured);
    }
  }
  const wasmModule = (await compiledEngine)?.module;
  return engineFromVariant(
    newVariant(loadedVariant, { wasmMemory: memory, ...(wasmModule ? { wasmModule } : {}) }),
  );
}

/**
 * What `newQuickJSWASMModuleFromVariant` does, without the dynamic import it makes on every call
 * (milliseconds per instance under a module loader hook, as `npm start` runs under tsx).
 */
async function engineFromVariant(variant: QuickJSSyncVariant): Promise<QuickJSWASMModule> {
  const [loadModule, Ffi] = await Promise.all([variant.importModuleLoader(), variant.importFFI()]);
  const wasm = await (loadModule as unknown as () => Promise<{ type: string }>)();
  wasm.type = 'sync';
  type EngineParts = ConstructorParameters<typeof QuickJSWASMModule>;
  return new QuickJSWASMModule(wasm as EngineParts[0], new Ffi(wasm as never) as EngineParts[1]);
}

type Interruption = 'deadline' | 'output' | undefined;

export interface QuickJsSandboxOptions {
  /** Forwarded to the TypeScript transform (esbuild); see `typescript.ts`. */
  readonly esbuildBinaryPath?: string;
}

export class QuickJsSandbox {
  /** The instance the next execution takes (prepared ahead so its compile is off the critical path). */
  private next: Promise<Engine> | undefined;

  constructor(private readonly options: QuickJsSandboxOptions = {}) {}

  /**
   * Runs one execution. TypeScript is transformed first, inside the run's limits (`typescript.ts`).
   * `spentMs` is time the run already used before it got here (a transform done by the caller):
   * it is taken from the deadline and counted in `runMs`.
   */
  async run(request: SandboxRequest, spentMs = 0): Promise<SandboxResult> {
    if (request.language === 'typescript') {
      const prepared = await prepareTypeScript(request, this.options.esbuildBinaryPath);
      if ('result' in prepared) return prepared.result;
      return this.runJavaScript(prepared.request, prepared.spentMs);
    }
    return this.runJavaScript(request, spentMs);
  }

  private async runJavaScript(request: SandboxRequest, spentMs: number): Promise<SandboxResult> {
    const started = performance.now();
    const { limits } = request;
    const stdout = new CappedText(limits.maxOutputBytes);
    const stderr = new CappedText(limits.maxOutputBytes);
    const files = new CappedFiles(limits.maxOutputBytes, MAX_OUTPUT_FILES);
    const base = () => ({
      stdout: stdout.toString(),
      stderr: stderr.toString(),
      stdoutTruncated: stdout.truncated,
      stderrTruncated: stderr.truncated,
      files: files.toRecord(),
      filesTruncated: files.truncated,
    });
    const source = request.code;

    const engine = await this.takeEngine();
    engine.capMemory(engine.memoryBytes() + limits.memoryMiB * 1024 * 1024);
    const runtime = engine.module.newRuntime();
    let context: QuickJSContext | undefined;
    let interruption: Interruption;
    // What a transform already used is taken from the deadline and counted in the run's time.
    let deadline = Date.now() + limits.timeoutMs - spentMs;
    let runStarted = performance.now();
    try {
      runtime.setMemoryLimit(limits.memoryMiB * 1024 * 1024);
      runtime.setMaxStackSize(QUICKJS_STACK_BYTES);
      runtime.setInterruptHandler(() => {
        if (interruption) return true;
        if (Date.now() > deadline) interruption = 'deadline';
        return interruption !== undefined;
      });
      context = runtime.newContext();
      const ctx = context;
      const render = this.installPrelude(ctx, request, {
        write: (stream, text) => {
          const buffer = stream === 2 ? stderr : stdout;
          if (!buffer.append(text)) interruption ??= 'output';
        },
        writeFile: (name, content) => {
          const reason = unsafeFileNameReason(name);
          if (reason) return `output file name ${JSON.stringify(name)} ${reason}`;
          if (!files.add(name, content)) {
            return `output files exceed ${limits.maxOutputBytes} bytes or ${MAX_OUTPUT_FILES} files`;
          }
          return undefined;
        },
      });

      runStarted = performance.now();
      // The user's code gets its whole deadline from here (the prelude above is the host's time).
      deadline = Date.now() + limits.timeoutMs - spentMs;
      const outcome = this.evaluate(ctx, runtime, source, deadline, () => interruption);
      // The last value is rendered inside the clock: its toJSON, getters and toString are user code.
      const result =
        outcome.kind === 'value' && outcome.handle !== undefined
          ? this.renderValue(ctx, render, outcome.handle)
          : undefined;
      render.dispose();
      const timings = { startMs: runStarted - started, runMs: spentMs + performance.now() - runStarted };
      if (interruption === undefined && Date.now() > deadline) interruption = 'deadline';
      const interrupted: Interruption = interruption;

      if (outcome.kind === 'value') {
        // Whatever reached the deadline timed out, even if the code's own value was ready before.
        if (interrupted === 'deadline') return { ...base(), status: 'timed_out', timings };
        if (interrupted === 'output') return { ...base(), status: 'output_limit', timings };
        if (result === undefined) return { ...base(), status: 'succeeded', timings };
        return { ...base(), status: 'succeeded', result: truncate(result, limits.maxOutputBytes), timings };
      }
      const status = statusOf(outcome.error, interrupted, engine.memoryExhausted());
      if (status === 'failed') return { ...base(), status, error: outcome.error, timings };
      return { ...base(), status, timings };
    } catch (cause) {
      // The engine itself trapped (e.g. the native stack overflowed inside WebAssembly). Its state
      // can no longer be trusted; it is discarded with this execution anyway.
      const runMs = spentMs + performance.now() - runStarted;
      const error = engineTrapError(cause);
      return {
        ...base(),
        status:
          interruption === 'deadline' ? 'timed_out' : engine.memoryExhausted() ? 'out_of_memory' : 'failed',
        error,
        timings: { startMs: runStarted - started, runMs },
      };
    }
    // No `finally` frees the runtime and context: the whole instance (its linear memory with them)
    // is dropped after this one execution, and freeing a runtime whose promise jobs allocated many
    // objects trips an engine assertion (quickjs-emscripten 0.32, justjake/quickjs-emscripten#269)
    // that prints `Aborted(Assertion failed: list_empty(&rt->gc_obj_list)…)` to the host's stderr.
  }

  async close(): Promise<void> {
    const pending = this.next;
    this.next = undefined;
    await Promise.all([pending?.catch(() => undefined), stopSpareTransform()]);
  }

  /** Takes the prepared instance (or makes one) and starts preparing the one after it. */
  private async takeEngine(): Promise<Engine> {
    const current = this.next ?? newEngine();
    this.next = newEngine();
    // A failure to prepare surfaces when that instance is taken, not as an unhandled rejection.
    this.next.catch(() => undefined);
    try {
      return await current;
    } catch (cause) {
      this.next = undefined;
      throw cause;
    }
  }

  /** Evaluates the prelude and calls it with the host writers; returns the `render` function handle. */
  private installPrelude(
    ctx: QuickJSContext,
    request: SandboxRequest,
    host: {
      write: (stream: number, text: string) => void;
      writeFile: (name: string, content: string) => string | undefined;
    },
  ): QuickJSHandle {
    const write = ctx.newFunction('write', (streamHandle, textHandle) => {
      host.write(ctx.getNumber(streamHandle), ctx.getString(textHandle));
    });
    const writeFile = ctx.newFunction('writeFile', (nameHandle, contentHandle) => {
      const problem = host.writeFile(ctx.getString(nameHandle), ctx.getString(contentHandle));
      if (problem) return { error: ctx.newError({ name: 'Error', message: problem }) };
      return undefined;
    });
    const inputs = ctx.newString(JSON.stringify(request.files ?? {}));
    const env = ctx.newString(JSON.stringify(request.env ?? {}));
    const factory = ctx.unwrapResult(ctx.evalCode(PRELUDE_SOURCE, PRELUDE_FILENAME, { strict: true }));
    try {
      return ctx.unwrapResult(ctx.callFunction(factory, ctx.undefined, write, writeFile, inputs, env));
    } finally {
      for (const handle of [factory, write, writeFile, inputs, env]) handle.dispose();
    }
  }

  private evaluate(
    ctx: QuickJSContext,
    runtime: QuickJSRuntime,
    source: string,
    deadline: number,
    interrupted: () => Interruption,
  ): { kind: 'value'; handle: QuickJSHandle | undefined } | { kind: 'error'; error: UserCodeError } {
    const evaluated = ctx.evalCode(source, USER_FILENAME, { backtraceBarrier: true });
    if (evaluated.error) return { kind: 'error', error: this.takeError(ctx, evaluated.error) };
    let value = evaluated.value;

    // Promise jobs (an async function, a `.then`) run to completion under the same deadline, as a
    // host's microtask queue would; nothing is left pending when the runtime is disposed.
    while (runtime.hasPendingJob() && !interrupted() && Date.now() <= deadline) {
      const jobs = runtime.executePendingJobs(JOBS_PER_SLICE);
      if (jobs.error) {
        value.dispose();
        return { kind: 'error', error: this.takeError(ctx, jobs.error) };
      }
    }
    if (runtime.hasPendingJob()) {
      // The deadline (or the output cap) stopped a queue that was still running.
      value.dispose();
      return { kind: 'error', error: { name: 'InternalError', message: 'interrupted', traceback: '' } };
    }
    const state = ctx.getPromiseState(value);
    if (state.type === 'rejected') {
      value.dispose();
      return { kind: 'error', error: this.takeError(ctx, state.error) };
    }
    if (state.type === 'pending') {
      value.dispose();
      if (interrupted() || Date.now() > deadline) {
        return { kind: 'error', error: { name: 'InternalError', message: 'interrupted', traceback: '' } };
      }
      // A promise nothing can settle any more: there is no value to report.
      return { kind: 'value', handle: undefined };
    }
    if (!state.notAPromise) {
      value.dispose();
      value = state.value;
    }
    if (ctx.typeof(value) === 'undefined') {
      value.dispose();
      return { kind: 'value', handle: undefined };
    }
    return { kind: 'value', handle: value };
  }

  private renderValue(ctx: QuickJSContext, render: QuickJSHandle, value: QuickJSHandle): string | undefined {
    const rendered = ctx.callFunction(render, ctx.undefined, value);
    value.dispose();
    if (rendered.error) {
      rendered.error.dispose();
      return undefined;
    }
    const text = ctx.typeof(rendered.value) === 'string' ? ctx.getString(rendered.value) : undefined;
    rendered.value.dispose();
    return text;
  }

  /** Converts a thrown QuickJS value into `{ name, message, traceback }` and disposes it. */
  private takeError(ctx: QuickJSContext, handle: QuickJSHandle): UserCodeError {
    try {
      const dumped: unknown = ctx.dump(handle);
      if (dumped && typeof dumped === 'object') {
        const record = dumped as Record<string, unknown>;
        const name = typeof record.name === 'string' ? record.name : 'Error';
        const message = typeof record.message === 'string' ? record.message : String(dumped);
        const stack = typeof record.stack === 'string' ? record.stack : '';
        return { name, message, traceback: userFrames(stack) };
      }
      return { name: 'Error', message: `uncaught ${typeof dumped}: ${String(dumped)}`, traceback: '' };
    } catch {
      return { name: 'Error', message: 'an exception that could not be read', traceback: '' };
    } finally {
      handle.dispose();
    }
  }
}

function statusOf(error: UserCodeError, interruption: Interruption, memoryExhausted: boolean): SandboxStatus {
  if (interruption === 'deadline') return 'timed_out';
  if (interruption === 'output') return 'output_limit';
  if (memoryExhausted || (error.name === 'InternalError' && error.message === 'out of memory')) {
    return 'out_of_memory';
  }
  return 'failed';
}

/** Keeps only the stack lines of the user's code (drops the prelude's and the engine's). */
function userFrames(stack: string): string {
  const lines = stack.split('\n').filter((line) => line.trim() !== '' && !line.includes(PRELUDE_FILENAME));
  if (lines.length <= MAX_TRACEBACK_LINES) return lines.join('\n');
  const omitted = lines.length - MAX_TRACEBACK_LINES;
  return [...lines.slice(0, MAX_TRACEBACK_LINES), `    ... ${omitted} more frames`].join('\n');
}

function engineTrapError(cause: unknown): UserCodeError {
  if (cause instanceof RangeError) {
    return { name: 'RangeError', message: 'Maximum call stack size exceeded', traceback: '' };
  }
  return {
    name: 'InternalError',
    message: 'the JavaScript engine stopped; this execution was discarded',
    traceback: '',
  };
}

function truncate(text: string, maxBytes: number): string {
  const capped = new CappedText(maxBytes);
  capped.append(text);
  return capped.toString();
}
