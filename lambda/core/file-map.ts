/**
 * Files travel as name -> content maps (request inputs, sandbox outputs, executor events and
 * results, the sealed answer). A file's content is a string when its bytes are valid UTF-8 text and
 * a Uint8Array otherwise (`fileValueOf`): text files stay strings everywhere, as they always were,
 * and bytes are never decoded lossily. How a value travels as JSON is `file-wire.ts`. A file may be named like anything an object inherits (`constructor`,
 * `toString`, `hasOwnProperty`) or like the prototype setter (`__proto__`): on a plain `{}`, reading
 * such a name finds the inherited member and assigning `__proto__` changes the prototype instead of
 * storing the file. So every map of files is built with no prototype, and every schema that reads
 * one uses `fileMapSchema` (zod's records skip `__proto__` silently).
 */
import { z } from 'zod';

/** A file's content: UTF-8 text as a string, any other bytes as a Uint8Array. */
export type FileValue = string | Uint8Array;

/** A map of file name -> content with no prototype: every name is an own property or absent. */
export type FileMap = Record<string, FileValue>;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The bytes as text when they are valid UTF-8 (a BOM kept), else undefined. */
function utf8TextOf(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The canonical content of `bytes`: a string if they are valid UTF-8, else the bytes themselves. */
export function fileValueOf(bytes: Uint8Array): FileValue {
  return utf8TextOf(bytes) ?? bytes;
}

/** The bytes of a file's content (text as UTF-8). */
export function fileBytesOf(value: FileValue): Uint8Array {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

/** Size of a file's content in bytes (text as UTF-8). */
export function fileByteLength(value: FileValue): number {
  return typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.byteLength;
}

/** A new prototype-free file map holding `entries` (later entries win). */
export function fileMap<V = FileValue>(entries: Iterable<readonly [string, V]> = []): Record<string, V> {
  const map = Object.create(null) as Record<string, V>;
  for (const [name, content] of entries) map[name] = content;
  return map;
}

/** The entry for `name`, if `map` has one of its own (never an inherited member). */
export function fileOf<V>(map: Readonly<Record<string, V>>, name: string): V | undefined {
  return Object.hasOwn(map, name) ? map[name] : undefined;
}

/**
 * A zod schema for an object of file name -> content, parsed into a prototype-free map. Each key
 * is checked with `name`; an issue about a key carries `params: { fileName: true }` and the key as
 * its path, so a caller can say "(file name)".
 */
export function fileMapSchema<V extends FileValue = string>(
  name: z.ZodType<string>,
  content: z.ZodType<V, unknown> = z.string() as unknown as z.ZodType<V, unknown>,
) {
  return z.unknown().transform((input, ctx): Record<string, V> => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      ctx.issues.push({ code: 'custom', message: 'must be an object of file name -> text', input });
      return z.NEVER;
    }
    const out = fileMap<V>();
    for (const key of Object.keys(input)) {
      const keyResult = name.safeParse(key);
      if (!keyResult.success) {
        const message = keyResult.error.issues[0]?.message ?? 'invalid file name';
        ctx.issues.push({ code: 'custom', message, input: key, path: [key], params: { fileName: true } });
        continue;
      }
      const value = content.safeParse((input as Record<string, unknown>)[key]);
      if (!value.success) {
        for (const issue of value.error.issues) {
          ctx.issues.push({ code: 'custom', message: issue.message, input: key, path: [key, ...issue.path] });
        }
        continue;
      }
      out[key] = value.data;
    }
    return out;
  });
}

/**
 * A relative file name safe to use inside a sandbox folder: no absolute path, no `..`, no empty
 * segment, no NUL, at most 255 characters. Returns the reason it is not, or undefined if it is.
 */
export function unsafeFileNameReason(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > 255) return 'is longer than 255 characters';
  if (name.includes('\0')) return 'contains a NUL character';
  if (name.startsWith('/') || name.includes('\\')) return 'must be a relative path with / separators';
  const segments = name.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    return 'must not contain empty, "." or ".." segments';
  }
  return undefined;
}
