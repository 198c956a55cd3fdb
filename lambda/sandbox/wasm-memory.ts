/**
 * Lowers the initial size an Emscripten WebAssembly module asks of its imported memory to what
 * its layout needs.
 *
 * Emscripten declares the memory import with its build's INITIAL_MEMORY (16 MiB for QuickJS),
 * though the static data and the stack end near 5 MiB and the heap grows on demand. Every
 * execution gets a fresh memory, and V8 counts each one's full initial size as external memory:
 * at 16 MiB a full garbage collection follows every four executions. The layout is read from the
 * module itself: the end of its last active data segment and the initial value of its stack
 * pointer (Emscripten's first global, a mutable i32 set by `i32.const`; the stack grows down from
 * there and the heap starts above it). Anything that does not parse as expected leaves the module
 * unchanged (`undefined`), and the caller keeps the declared size.
 */

const PAGE_BYTES = 64 * 1024;
const SECTION_IMPORT = 2;
const SECTION_GLOBAL = 6;
const SECTION_DATA = 11;
const KIND_MEMORY = 2;
const I32 = 0x7f;
const OP_I32_CONST = 0x41;
const OP_END = 0x0b;

export interface ShrunkModule {
  /** The module with its memory import's minimum lowered (a copy; the input is untouched). */
  readonly bytes: Uint8Array;
  /** The new minimum, in 64 KiB pages. */
  readonly pages: number;
  /** The minimum the module declared. */
  readonly declaredPages: number;
}

class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public at: number,
  ) {}

  byte(): number {
    const value = this.bytes[this.at++];
    if (value === undefined) throw new RangeError('truncated module');
    return value;
  }

  /** An unsigned LEB128 of at most 32 bits. */
  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new RangeError('LEB128 too long');
  }

  /** A signed LEB128 of at most 32 bits. */
  s32(): number {
    let result = 0;
    let shift = 0;
    let b: number;
    do {
      b = this.byte();
      result |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80 && shift < 35);
    if (b & 0x80) throw new RangeError('LEB128 too long');
    return shift < 32 && b & 0x40 ? result | (~0 << shift) : result;
  }

  /** Skips a length-prefixed run of bytes (a name, a passive segment). */
  skipVector(): void {
    const length = this.u32();
    this.at += length;
  }
}

interface Layout {
  /** Where the memory import's minimum is encoded, and in how many bytes. */
  readonly minimumAt: number;
  readonly minimumLength: number;
  readonly declaredPages: number;
  /** The highest byte the module's data and stack reach. */
  readonly highestByte: number;
}

function readLayout(bytes: Uint8Array): Layout | undefined {
  const view = new Reader(bytes, 8);
  let memory: { at: number; length: number; pages: number } | undefined;
  let stackTop: number | undefined;
  let dataEnd = 0;
  while (view.at < bytes.length) {
    const id = view.byte();
    const size = view.u32();
    const end = view.at + size;
    if (id === SECTION_IMPORT) {
      const count = view.u32();
      for (let i = 0; i < count; i++) {
        view.skipVector();
        view.skipVector();
        const kind = view.byte();
        if (kind === 0) view.u32();
        else if (kind === 1) {
          view.byte();
          if (view.u32() & 1) view.u32();
          view.u32();
        } else if (kind === KIND_MEMORY) {
          const flags = view.u32();
          const at = view.at;
          const pages = view.u32();
          if (memory !== undefined || flags & ~1) return undefined; // several memories, shared or 64-bit
          memory = { at, length: view.at - at, pages };
          if (flags & 1) view.u32();
        } else if (kind === 3) {
          view.byte();
          view.byte();
        } else return undefined;
      }
    } else if (id === SECTION_GLOBAL) {
      if (view.u32() === 0) return undefined;
      const type = view.byte();
      const mutable = view.byte();
      if (type !== I32 || mutable !== 1 || view.byte() !== OP_I32_CONST) return undefined;
      stackTop = view.s32() >>> 0;
      if (view.byte() !== OP_END) return undefined;
    } else if (id === SECTION_DATA) {
      const count = view.u32();
      for (let i = 0; i < count; i++) {
        const flags = view.u32();
        if (flags === 1) {
          view.skipVector(); // passive: not placed at instantiation
          continue;
        }
        if (flags !== 0 || view.byte() !== OP_I32_CONST) return undefined;
        const offset = view.s32() >>> 0;
        if (view.byte() !== OP_END) return undefined;
        const length = view.u32();
        dataEnd = Math.max(dataEnd, offset + length);
        view.at += length;
      }
    }
    view.at = end;
  }
  if (memory === undefined || stackTop === undefined) return undefined;
  return {
    minimumAt: memory.at,
    minimumLength: memory.length,
    declaredPages: memory.pages,
    highestByte: Math.max(stackTop, dataEnd),
  };
}

/**
 * The module with its memory import's minimum set to the pages its data and stack need plus
 * `headroomPages` for the heap's first allocations; `undefined` when the module is not laid out as
 * expected or would not get smaller.
 */
export function shrinkMemoryImport(bytes: Uint8Array, headroomPages = 2): ShrunkModule | undefined {
  let layout: Layout | undefined;
  try {
    layout = readLayout(bytes);
  } catch {
    return undefined;
  }
  if (layout === undefined) return undefined;
  const pages = Math.ceil(layout.highestByte / PAGE_BYTES) + headroomPages;
  if (pages >= layout.declaredPages) return undefined;
  // Rewritten in place, padded to the same number of LEB128 bytes (a smaller value always fits),
  // so no offset in the module moves.
  const out = new Uint8Array(bytes);
  let rest = pages;
  for (let i = 0; i < layout.minimumLength; i++) {
    const last = i === layout.minimumLength - 1;
    out[layout.minimumAt + i] = (rest & 0x7f) | (last ? 0 : 0x80);
    rest >>>= 7;
  }
  return { bytes: out, pages, declaredPages: layout.declaredPages };
}
