/**
 * The bounds of a session's sandbox state (`SandboxState`, below) as the executor and the
 * sandboxes hold it: its size, its file names, and what `dropped` says when a call's changes
 * could not be kept at all.
 */
import { z } from 'zod';
import { fileMapSchema } from './file-map.ts';

/**
 * What a sandbox carries from one call of a session to the next (the executor's request `state`
 * in, the result's `state` out). The broker seals it as a whole; the sandbox reads and writes it.
 */
export interface SandboxState {
  /** Files of the working folder (relative name -> base64 bytes). */
  readonly files: Readonly<Record<string, string>>;
  /** Python globals that pickle, and functions/classes by source (opaque to all but the sandbox). */
  readonly python?: string;
  /** JavaScript/TypeScript top-level bindings: data by value, functions by source (opaque). */
  readonly javascript?: string;
}

/**
 * The most state a sandbox restores or returns, whatever the request says: the ceiling of a
 * profile's `maxStateBytes` (policy.ts), so the state fits the executor's 6 MB payload beside
 * the code and the outputs.
 */
export const MAX_STATE_BYTES_LIMIT = 4 * 1024 * 1024;

/** At most this many files are carried from one call of a session to the next. */
export const MAX_STATE_FILES = 1_000;

/** The size of a state: the bytes of its JSON (base64 file contents, names, the opaque blobs). */
export function stateBytes(state: SandboxState): number {
  return Buffer.byteLength(JSON.stringify(state), 'utf8');
}

/** The state bound of a request: its own `maxStateBytes`, never past the ceiling. */
export function maxStateBytesOf(session: { readonly maxStateBytes?: number }): number {
  return Math.min(session.maxStateBytes ?? MAX_STATE_BYTES_LIMIT, MAX_STATE_BYTES_LIMIT);
}

/** Standard base64 (what `carried.files` holds), padded. */
export const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The `dropped` entry when nothing a call changed was kept (a limit stopped it, or what it left
 * did not fit): the session goes on from the state the call started with.
 */
export function droppedWholeCall(why: string): string {
  return `* (${why}: nothing this call changed was kept; the session goes on from the state it started with)`;
}

/** The `dropped` entry of a file of the working folder. */
export function droppedFile(name: string): string {
  return `file:${name}`;
}

/**
 * A `SandboxState` as the executor's event carries it in and its answer carries it out: file names
 * checked by `fileName`, contents base64, at most `MAX_STATE_FILES` files, no other field.
 */
export function sandboxStateSchema(fileName: z.ZodType<string>) {
  return z
    .object({
      files: fileMapSchema(fileName, z.string().regex(BASE64, 'must be base64')),
      python: z.string().optional(),
      javascript: z.string().optional(),
    })
    .strict()
    .refine((state) => Object.keys(state.files).length <= MAX_STATE_FILES, {
      message: `must carry at most ${MAX_STATE_FILES} files`,
      path: ['files'],
    });
}
