/**
 * The executor Lambda's event and answer as JSON, within Lambda's 6 MB payload limit by
 * construction. Files go as `file-wire.ts` writes them: plain first (text as text, bytes as
 * base64); only when that is over the limit, each file is gzipped where that makes it smaller.
 * The broker measures the event before anything is invoked and refuses one still over the limit
 * with a 413 naming it; the executor fits its answer the same way, dropping files (marked
 * truncated), then cutting stdout and stderr, rather than return what Lambda would refuse.
 */
import { type FileMap, fileMap } from './file-map.ts';
import { type WireFileValue, wireFileOf } from './file-wire.ts';
import { MAX_EXECUTOR_PAYLOAD_BYTES } from './limits.ts';
import type { SandboxRequest, SandboxResult } from './types.ts';

type WireFiles = Record<string, WireFileValue>;

/** A file map's wire forms, kept per map: the broker measures the event and then sends it. */
const encoded = new WeakMap<object, { plain: WireFiles; compressed?: WireFiles }>();

function wireFiles(files: Readonly<FileMap>, compress: boolean): WireFiles {
  let entry = encoded.get(files);
  if (!entry) {
    entry = {
      plain: fileMap(Object.entries(files).map(([name, value]) => [name, wireFileOf(value, false)])),
    };
    encoded.set(files, entry);
  }
  if (!compress) return entry.plain;
  entry.compressed ??= fileMap(Object.entries(files).map(([name, value]) => [name, wireFileOf(value, true)]));
  return entry.compressed;
}

export interface EncodedPayload {
  readonly json: string;
  /** UTF-8 bytes of `json`: what Lambda counts against its limit. */
  readonly bytes: number;
}

function measured(value: unknown): EncodedPayload {
  const json = JSON.stringify(value);
  return { json, bytes: Buffer.byteLength(json, 'utf8') };
}

/** The executor event of `request`, compressed where that helps; the caller compares `bytes` to the limit. */
export function encodeSandboxEvent(request: SandboxRequest): EncodedPayload {
  const { files } = request;
  if (!files) return measured(request);
  const plain = measured({ ...request, files: wireFiles(files, false) });
  if (plain.bytes <= MAX_EXECUTOR_PAYLOAD_BYTES) return plain;
  return measured({ ...request, files: wireFiles(files, true) });
}

/** A SandboxResult as the executor returns it: files in their wire form. */
export type WireSandboxResult = Omit<SandboxResult, 'files'> & { readonly files: WireFiles };

/**
 * The executor's answer, within `maxBytes`: plain, else compressed, else without its files, else
 * with stdout and stderr cut (each marked truncated). Never larger than Lambda would return.
 */
export function encodeSandboxResult(
  result: SandboxResult,
  maxBytes: number = MAX_EXECUTOR_PAYLOAD_BYTES,
): WireSandboxResult {
  const withFiles = (compress: boolean) =>
    ({ ...result, files: wireFiles(result.files, compress) }) as WireSandboxResult;
  const plain = withFiles(false);
  if (measured(plain).bytes <= maxBytes) return plain;
  const compressed = withFiles(true);
  if (measured(compressed).bytes <= maxBytes) return compressed;
  let out = { ...plain, files: fileMap<WireFileValue>(), filesTruncated: true } as WireSandboxResult;
  for (let i = 0; i < 64 && measured(out).bytes > maxBytes; i++) {
    const longer = out.stdout.length >= out.stderr.length ? 'stdout' : 'stderr';
    out = {
      ...out,
      [longer]: out[longer].slice(0, Math.floor(out[longer].length / 2)),
      [`${longer}Truncated`]: true,
    } as WireSandboxResult;
  }
  return out;
}
