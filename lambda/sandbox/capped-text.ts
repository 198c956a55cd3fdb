import { type FileMap, type FileValue, fileByteLength, fileMap, fileValueOf } from '../core/file-map.ts';

/**
 * A text buffer with a byte cap: keeps the first `maxBytes` bytes (UTF-8) and remembers that
 * more was offered. Used for stdout, stderr and rendered results in every sandbox.
 */
export class CappedText {
  private readonly parts: string[] = [];
  private bytes = 0;
  private overflowed = false;

  constructor(private readonly maxBytes: number) {}

  /** Appends text; returns false once the cap has been reached (the excess is dropped). */
  append(text: string): boolean {
    if (this.overflowed) return false;
    const size = Buffer.byteLength(text, 'utf8');
    if (this.bytes + size <= this.maxBytes) {
      this.parts.push(text);
      this.bytes += size;
      return true;
    }
    this.parts.push(truncateUtf8(text, this.maxBytes - this.bytes));
    this.bytes = this.maxBytes;
    this.overflowed = true;
    return false;
  }

  get truncated(): boolean {
    return this.overflowed;
  }

  get byteLength(): number {
    return this.bytes;
  }

  toString(): string {
    return this.parts.join('');
  }
}

/** The longest prefix of `text` whose UTF-8 encoding fits in `maxBytes`, never splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (maxBytes <= 0) return '';
  const encoded = Buffer.from(text, 'utf8');
  if (encoded.length <= maxBytes) return text;
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) so a multi-byte character is never split.
  while (end > 0 && ((encoded[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  return encoded.subarray(0, end).toString('utf8');
}

/**
 * Collects the files an execution wrote under its output folder, within one byte budget shared
 * by all files (the content bytes plus the names) and a file-count cap. Bytes that are valid
 * UTF-8 are kept as text (`fileValueOf`), whichever way the code wrote them.
 */
export class CappedFiles {
  // A Map, not an object: a file may be named `constructor`, `toString` or `__proto__`.
  private readonly entries = new Map<string, FileValue>();
  private bytes = 0;
  private overflowed = false;

  constructor(
    private readonly maxBytes: number,
    private readonly maxFiles: number,
  ) {}

  /** Adds one file; returns false (and marks the set truncated) if it does not fit. */
  add(name: string, written: FileValue): boolean {
    const content = typeof written === 'string' ? written : fileValueOf(written);
    const size = Buffer.byteLength(name, 'utf8') + fileByteLength(content);
    const previous = this.entries.get(name);
    const previousSize =
      previous === undefined ? 0 : Buffer.byteLength(name, 'utf8') + fileByteLength(previous);
    const nextCount = previous === undefined ? this.entries.size + 1 : this.entries.size;
    if (this.bytes - previousSize + size > this.maxBytes || nextCount > this.maxFiles) {
      this.overflowed = true;
      return false;
    }
    this.entries.set(name, content);
    this.bytes += size - previousSize;
    return true;
  }

  get truncated(): boolean {
    return this.overflowed;
  }

  /** The files as a prototype-free object (see lambda/core/file-map.ts). */
  toRecord(): FileMap {
    return fileMap(this.entries);
  }
}
