/**
 * Files travel as name -> text maps (request inputs, sandbox outputs, executor events and results,
 * the sealed answer). A file may be named like anything an object inherits (`constructor`,
 * `toString`, `hasOwnProperty`) or like the prototype setter (`__proto__`): on a plain `{}`, reading
 * such a name finds the inherited member and assigning `__proto__` changes the prototype instead of
 * storing the file. So every map of files is built with no prototype, and every schema that reads
 * one uses `fileMapSchema` (zod's records skip `__proto__` silently).
 */
import { z } from 'zod';

/** A map of file name -> text with no prototype: every name is an own property or absent. */
export type FileMap = Record<string, string>;

/** A new prototype-free file map holding `entries` (later entries win). */
export function fileMap(entries: Iterable<readonly [string, string]> = []): FileMap {
  const map = Object.create(null) as FileMap;
  for (const [name, content] of entries) map[name] = content;
  return map;
}

/** The entry for `name`, if `map` has one of its own (never an inherited member). */
export function fileOf(map: Readonly<FileMap>, name: string): string | undefined {
  return Object.hasOwn(map, name) ? map[name] : undefined;
}

/**
 * A zod schema for an object of file name -> text, parsed into a prototype-free map. Each key is
 * checked with `name`; an issue about a key carries `params: { fileName: true }` and the key as its
 * path, so a caller can say "(file name)".
 */
export function fileMapSchema(name: z.ZodType<string>, content: z.ZodType<string> = z.string()) {
  return z.unknown().transform((input, ctx): FileMap => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      ctx.issues.push({ code: 'custom', message: 'must be an object of file name -> text', input });
      return z.NEVER;
    }
    const out = fileMap();
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
