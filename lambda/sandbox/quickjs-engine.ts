/**
 * The QuickJS engine as WebAssembly: one fresh instance (its own linear memory, capped by a guarded
 * `grow`) per execution, from a module compiled once per process.
 *
 * QuickJS's own malloc limit does not see large blocks in this build (an ArrayBuffer of 1 MiB is
 * counted as a few bytes), so the hard memory limit is the instance's linear memory: its `grow` is
 * guarded, and a growth past the limit fails inside the engine as an ordinary out-of-memory.
 */
import variantModule from '@jitl/quickjs-singlefile-cjs-release-sync';
import type { QuickJSSyncVariant } from 'quickjs-emscripten-core';
import { newVariant, QuickJSWASMModule } from 'quickjs-emscripten-core';
import { shrinkMemoryImport } from './wasm-memory.ts';

const WASM_PAGE_BYTES = 64 * 1024;
/** The engine's initial linear memory as its build declares it, in 64 KiB pages (see `wasm-memory.ts`). */
const INITIAL_PAGES = 256;
/** The engine is 32-bit: 2 GiB is its ceiling whatever the limit. */
const MAXIMUM_PAGES = 32_768;

/** One engine instance, used for exactly one execution. */
export interface Engine {
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

export async function newEngine(): Promise<Engine> {
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
