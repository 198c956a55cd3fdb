/**
 * How file contents travel as JSON. In memory a file is a string (UTF-8 text) or a Uint8Array
 * (`file-map.ts`); JSON cannot hold bytes, so each boundary writes them in one of these forms:
 *
 * - the request a caller sends: a string, or `{ "base64": "…" }`;
 * - the answer a caller receives: a string when the bytes are UTF-8 text, else
 *   `{ "base64": "…", "mediaType": "…", "bytes": N }` (the type sniffed from the content);
 * - between the broker and the executor Lambda (`executor-payload.ts`): a string, `{ base64 }`,
 *   or `{ gzip }` (base64 of the gzip of the bytes) where compressing keeps the event under
 *   Lambda's payload limit.
 *
 * Every decoder returns the canonical value (`fileValueOf`): bytes that are valid UTF-8 become a
 * string, whichever form they came in.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { type FileValue, fileBytesOf, fileValueOf } from './file-map.ts';
import { type MediaType, sniffMediaType } from './media-type.ts';

/** Padded standard base64 (RFC 4648 §4), the only form accepted: anything else is refused, not guessed. */
const BASE64_CHARS = /^[A-Za-z0-9+/]*={0,2}$/;

/** Whether `text` is padded standard base64 (checked without a backtracking pattern: inputs run to MBs). */
function isBase64(text: string): boolean {
  return text.length % 4 === 0 && BASE64_CHARS.test(text);
}

/** A file's bytes as a plain Uint8Array (not a Buffer: the two compare unequal in tests and clones). */
function bytesOfBase64(base64: string): Uint8Array {
  const buffer = Buffer.from(base64, 'base64');
  return new Uint8Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength));
}

function base64Of(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

const base64String = z.string().refine(isBase64, 'must be padded standard base64');

/** A request's file value: text, or `{ base64 }` for any bytes. */
export const inputFileValueSchema = z
  .union([z.string(), z.strictObject({ base64: base64String })], {
    error: 'must be a string (UTF-8 text) or { "base64": "…" }',
  })
  .transform(
    (value): FileValue => (typeof value === 'string' ? value : fileValueOf(bytesOfBase64(value.base64))),
  );

/** JSON Schema of a request's file value (zod cannot see through the transform). */
export const INPUT_FILE_VALUE_JSON_SCHEMA = {
  anyOf: [
    { type: 'string' },
    {
      type: 'object',
      properties: { base64: { type: 'string', contentEncoding: 'base64' } },
      required: ['base64'],
      additionalProperties: false,
    },
  ],
} as const;

/** A binary file in an answer. */
interface BinaryFile {
  readonly base64: string;
  readonly mediaType: MediaType | string;
  readonly bytes: number;
}
/** A file in an answer: UTF-8 text, or a binary file. */
export type AnswerFileValue = string | BinaryFile;

export const answerFileValueSchema = z.union([
  z.string(),
  z.object({
    base64: z.string(),
    mediaType: z.string().describe('Sniffed from the content: image/png, application/pdf, …'),
    bytes: z.number().int().nonnegative(),
  }),
]);

/** A file's answer form: the text itself, or its base64 with its sniffed type and size. */
export function answerFileOf(value: FileValue): AnswerFileValue {
  if (typeof value === 'string') return value;
  return { base64: base64Of(value), mediaType: sniffMediaType(value), bytes: value.byteLength };
}

/** A file as the executor event and result carry it. */
export type WireFileValue = string | { readonly base64: string } | { readonly gzip: string };

/** Gzip only pays for itself past this size. */
const GZIP_MIN_BYTES = 1024;

/** The wire form of a file; `compress` gzips it when that makes it smaller. */
export function wireFileOf(value: FileValue, compress: boolean): WireFileValue {
  const plain: WireFileValue = typeof value === 'string' ? value : { base64: base64Of(value) };
  if (!compress) return plain;
  const bytes = fileBytesOf(value);
  if (bytes.byteLength < GZIP_MIN_BYTES) return plain;
  const gzip = gzipSync(bytes, { level: 6 }).toString('base64');
  return gzip.length < wireJsonBytes(plain) ? { gzip } : plain;
}

/** Bytes a wire value takes in JSON. */
function wireJsonBytes(value: WireFileValue): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/**
 * A wire file value, decoded. A gzip member is inflated to at most `maxBytes` (an executor's
 * answer is input like any other: a small bomb must not become a large allocation).
 */
export function wireFileValueSchema(maxBytes: number) {
  return z
    .union([z.string(), z.strictObject({ base64: base64String }), z.strictObject({ gzip: base64String })])
    .transform((value, ctx): FileValue => {
      if (typeof value === 'string') return value;
      if ('base64' in value) return fileValueOf(bytesOfBase64(value.base64));
      try {
        const inflated = gunzipSync(Buffer.from(value.gzip, 'base64'), { maxOutputLength: maxBytes });
        return fileValueOf(
          new Uint8Array(
            inflated.buffer.slice(inflated.byteOffset, inflated.byteOffset + inflated.byteLength),
          ),
        );
      } catch {
        ctx.issues.push({
          code: 'custom',
          message: `gzip: not a gzip member of at most ${maxBytes} bytes`,
          input: value,
        });
        return z.NEVER;
      }
    });
}
