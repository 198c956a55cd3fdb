/**
 * Canonical JSON: one byte sequence per value, so a hash of it is a hash of the value.
 *
 * Object keys are sorted (by UTF-16 code units, as RFC 8785 "JSON Canonicalization Scheme"
 * orders them), no whitespace, strings and numbers as `JSON.stringify` writes them (which is what
 * RFC 8785 specifies for both). Properties whose value is `undefined` are left out, as
 * `JSON.stringify` does. Values JSON cannot carry exactly (NaN, Infinity, bigint, functions,
 * symbols, `undefined` inside arrays) are refused with an error naming the path, rather than
 * silently becoming `null`.
 */
import { createHash } from 'node:crypto';

export class CanonicalJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalJsonError';
  }
}

export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

function write(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value))
        throw new CanonicalJsonError(`${path} is ${value}, which JSON cannot hold`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((item, i) => writeArrayItem(item, `${path}[${i}]`)).join(',')}]`;
      }
      if (value instanceof Date) {
        throw new CanonicalJsonError(`${path} is a Date; write it as an ISO-8601 string`);
      }
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${write(v, `${path}.${k}`)}`).join(',')}}`;
    }
    default:
      throw new CanonicalJsonError(`${path} is a ${typeof value}, which JSON cannot hold`);
  }
}

function writeArrayItem(value: unknown, path: string): string {
  if (value === undefined)
    throw new CanonicalJsonError(`${path} is undefined, which a JSON array cannot hold`);
  return write(value, path);
}

/** Lower-case hex SHA-256 of a string (as UTF-8) or of bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
