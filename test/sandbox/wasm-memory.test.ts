/**
 * The engine's memory import, shrunk to what its data and stack need: every execution gets a fresh
 * memory, so its declared 16 MiB cost a garbage collection every few executions.
 */
import { describe, expect, it } from 'vitest';
import { initialPages } from '../../lambda/sandbox/quickjs-engine.ts';
import { QuickJsSandbox } from '../../lambda/sandbox/quickjs-sandbox.ts';
import { shrinkMemoryImport } from '../../lambda/sandbox/wasm-memory.ts';
import { LIMITS, request } from './helpers.ts';

const WasmApi = (globalThis as unknown as { WebAssembly: WasmLike }).WebAssembly;
interface WasmLike {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => object;
  Memory: new (descriptor: { initial: number; maximum?: number }) => object;
}

function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}
function leb(value: number): number[] {
  const out: number[] = [];
  do {
    const byte = value & 0x7f;
    value >>>= 7;
    out.push(value === 0 ? byte : byte | 0x80);
  } while (value !== 0);
  return out;
}
function name(text: string): number[] {
  return [text.length, ...Buffer.from(text)];
}

interface ModuleShape {
  /** The memory import's minimum as encoded bytes (LEB128, possibly padded). */
  readonly minimum: number[];
  readonly maximum?: number;
  /** The stack pointer's initial value; omitted for a module with no globals. */
  readonly stackTop?: number;
  readonly dataAt?: number;
  readonly dataLength?: number;
  /** A function import before the memory import. */
  readonly functionImport?: boolean;
}

/** A minimal module laid out as Emscripten lays one out: imported memory, stack pointer, data. */
function module(shape: ModuleShape): Uint8Array {
  const limits =
    shape.maximum === undefined ? [0, ...shape.minimum] : [1, ...shape.minimum, ...leb(shape.maximum)];
  const imports = [
    ...(shape.functionImport ? [...name('env'), ...name('f'), 0x00, 0x00] : []),
    ...name('a'),
    ...name('a'),
    0x02,
    ...limits,
  ];
  const sections = [
    ...(shape.functionImport ? section(1, [1, 0x60, 0, 0]) : []),
    ...section(2, [shape.functionImport ? 2 : 1, ...imports]),
  ];
  if (shape.stackTop !== undefined) {
    sections.push(...section(6, [1, 0x7f, 1, 0x41, ...sleb(shape.stackTop), 0x0b]));
  }
  if (shape.dataAt !== undefined) {
    const length = shape.dataLength ?? 4;
    sections.push(
      ...section(11, [1, 0, 0x41, ...sleb(shape.dataAt), 0x0b, length, ...new Array(length).fill(7)]),
    );
  }
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...sections]);
}
function sleb(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}
function links(bytes: Uint8Array, pages: number): boolean {
  const compiled = new WasmApi.Module(bytes);
  try {
    new WasmApi.Instance(compiled, {
      a: { a: new WasmApi.Memory({ initial: pages, maximum: 32_768 }) },
      env: { f: () => 0 },
    });
    return true;
  } catch {
    return false;
  }
}

const PADDED_256 = [0x80, 0x02];

describe('shrinkMemoryImport', () => {
  it('lowers the minimum to the stack top plus headroom, and the result links where the original does not', () => {
    const original = module({
      minimum: PADDED_256,
      maximum: 32_768,
      stackTop: 5 * 65_536 + 100,
      dataAt: 1024,
    });
    const copy = new Uint8Array(original);
    const shrunk = shrinkMemoryImport(original);
    expect(original).toEqual(copy); // the input is not modified
    expect(shrunk).toMatchObject({ pages: 8, declaredPages: 256 });
    if (!shrunk) return;
    expect(shrunk.bytes.length).toBe(original.length);
    expect(links(shrunk.bytes, 8)).toBe(true);
    expect(links(original, 8)).toBe(false);
    expect(links(shrunk.bytes, 7)).toBe(false);
  });

  it('makes room for data that lies above the stack', () => {
    const shrunk = shrinkMemoryImport(
      module({
        minimum: PADDED_256,
        stackTop: 65_536,
        dataAt: 3 * 65_536 - 2,
        dataLength: 4,
        functionImport: true,
      }),
    );
    expect(shrunk?.pages).toBe(6);
    if (shrunk) expect(links(shrunk.bytes, 6)).toBe(true);
  });

  it('takes a custom headroom', () => {
    const shrunk = shrinkMemoryImport(module({ minimum: PADDED_256, stackTop: 65_536 }), 0);
    expect(shrunk?.pages).toBe(1);
  });

  it.each([
    ['a module with no stack pointer', module({ minimum: PADDED_256, dataAt: 0 })],
    ['a minimum already at what the layout needs', module({ minimum: [3], stackTop: 65_536 })],
    ['a minimum below what the layout needs', module({ minimum: [0x7f], stackTop: 200 * 65_536 })],
    ['a truncated module', module({ minimum: PADDED_256, stackTop: 65_536 }).subarray(0, 14)],
    ['bytes that are not a module', new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 2, 0x7f])],
  ])('leaves %s unchanged', (_what, bytes) => {
    expect(shrinkMemoryImport(bytes)).toBeUndefined();
  });
});

describe('the QuickJS engine', () => {
  it('starts each instance on less than its declared 16 MiB, and still runs and caps memory', async () => {
    const sandbox = new QuickJsSandbox();
    try {
      const ok = await sandbox.run(
        request('javascript', 'const a = []; for (let i = 0; i < 1e5; i++) a.push({ i }); a.length'),
      );
      expect(ok).toMatchObject({ status: 'succeeded', result: '100000' });
      const pages = await initialPages();
      expect(pages).toBeLessThan(256);
      expect(pages).toBeGreaterThan(64); // the engine's 5 MiB stack is below it
      const next = await sandbox.run(request('javascript', '"again"'));
      expect(next).toMatchObject({ status: 'succeeded', result: '"again"' });
      const hog = await sandbox.run({
        ...request('javascript', 'const k = []; for (;;) k.push(new ArrayBuffer(1 << 20));'),
        limits: { ...LIMITS, memoryMiB: 16 },
      });
      expect(hog.status).toBe('out_of_memory');
    } finally {
      await sandbox.close();
    }
  });
});
