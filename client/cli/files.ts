/**
 * Files in and out of `custody run`: `--input NAME=PATH` or `--input PATH` (named after the file),
 * read as bytes (text when they are UTF-8, else sent as base64), and `--output-dir DIR`, where the
 * files the run wrote are saved byte for byte (never outside DIR).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import { type FileMap, fileMap, fileValueOf } from '../../lambda/core/file-map.ts';
import type { AnswerFileValue } from '../../lambda/core/file-wire.ts';
import { UsageError } from './usage-error.ts';

function readBytes(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`${what}: cannot read ${path}${code ? ` (${code})` : ''}`);
  }
}

/** The input files the specs name, read from disk relative to `cwd`. */
export function readInputs(specs: readonly string[], cwd: string): FileMap {
  // No prototype: an input may be named `constructor` or `__proto__` like any other file.
  const files = fileMap();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq === 0 || eq === spec.length - 1 || spec === '') {
      throw new UsageError(`--input: "${spec}" must be NAME=PATH or PATH`);
    }
    const [name, path] = eq > 0 ? [spec.slice(0, eq), spec.slice(eq + 1)] : [basename(spec), spec];
    if (Object.hasOwn(files, name)) throw new UsageError(`--input: two inputs are named "${name}"`);
    files[name] = fileValueOf(readBytes(resolve(cwd, path), `--input ${name}`));
  }
  return files;
}

/**
 * Writes each file under `dir` (created if missing). A name that would land outside `dir` (an
 * absolute path, `..`) is refused before anything is written. Returns the paths written.
 */
export function saveOutputs(files: Readonly<Record<string, AnswerFileValue>>, dir: string): string[] {
  const root = resolve(dir);
  const targets = Object.entries(files).map(([name, content]) => {
    const path = resolve(root, name);
    const rel = relative(root, path);
    if (name === '' || rel === '' || rel.startsWith('..') || isAbsolute(rel) || name.includes('\0')) {
      throw new UsageError(
        `--output-dir: the run wrote a file named "${name}", which would land outside ${root}: no file saved`,
      );
    }
    return { path, content: typeof content === 'string' ? content : Buffer.from(content.base64, 'base64') };
  });
  for (const { path, content } of targets) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
  return targets.map((t) => t.path);
}
