/**
 * Files through the SDK as bytes (#16). A request's file may be text, `{ base64 }`, or a
 * Uint8Array (sent as base64); an answer's file is text when its bytes are UTF-8, else
 * `{ base64, mediaType, bytes }`, and `fileBytes` gives any answer file as its exact bytes.
 */
import type { ExecutionResponse, InputFileValue } from '../lambda/core/api-schema.ts';

/** A file `execute` sends: UTF-8 text, `{ base64 }`, or raw bytes. */
export type ExecuteFileValue = InputFileValue | Uint8Array;

function base64Of(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** The request's files as JSON carries them: bytes as `{ base64 }`, the rest unchanged. */
export function requestFiles(
  files: Readonly<Record<string, ExecuteFileValue>>,
): Record<string, InputFileValue> {
  // Entries into a prototype-free object: a file may be named __proto__ like any other.
  const out = Object.create(null) as Record<string, InputFileValue>;
  for (const [name, value] of Object.entries(files)) {
    out[name] = value instanceof Uint8Array ? { base64: base64Of(value) } : value;
  }
  return out;
}

/** The exact bytes of output file `name` of an answer (text as UTF-8), or undefined if it has none. */
export function fileBytes(answer: Pick<ExecutionResponse, 'files'>, name: string): Uint8Array | undefined {
  const files = answer.files;
  if (!files || !Object.hasOwn(files, name)) return undefined;
  const value = files[name];
  if (value === undefined) return undefined;
  const buffer = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value.base64, 'base64');
  return new Uint8Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength));
}
