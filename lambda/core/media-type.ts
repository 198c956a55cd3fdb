/**
 * The media type of a file, sniffed from its first bytes (never from its name: a run names its
 * files as it likes). Answers carry it beside the base64 of a binary file, and the MCP server
 * returns the image types as images.
 */

const MEDIA_TYPES = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/svg+xml',
  'application/pdf',
  'application/zip',
  'application/vnd.apache.parquet',
  'application/octet-stream',
] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];

function startsWith(bytes: Uint8Array, signature: readonly number[], at = 0): boolean {
  if (bytes.length < at + signature.length) return false;
  return signature.every((b, i) => bytes[at + i] === b);
}

const ascii = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG = [0xff, 0xd8, 0xff];
const GIF87 = ascii('GIF87a');
const GIF89 = ascii('GIF89a');
const PDF = ascii('%PDF-');
const ZIP_SIGNATURES = [ascii('PK\x03\x04'), ascii('PK\x05\x06'), ascii('PK\x07\x08')];
const PARQUET = ascii('PAR1');
/** An SVG document: an optional XML declaration, comments and doctype, then the `<svg` element. */
const SVG_START =
  /^\uFEFF?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--[\s\S]*?-->\s*)*(?:<!DOCTYPE\s+svg[^>]*>\s*)?(?:<!--[\s\S]*?-->\s*)*<svg[\s>/]/i;

/** The media type of `bytes` from their content: PNG, JPEG, GIF, SVG, PDF, ZIP, Parquet, else octet-stream. */
export function sniffMediaType(bytes: Uint8Array): MediaType {
  if (startsWith(bytes, PNG)) return 'image/png';
  if (startsWith(bytes, JPEG)) return 'image/jpeg';
  if (startsWith(bytes, GIF87) || startsWith(bytes, GIF89)) return 'image/gif';
  if (startsWith(bytes, PDF)) return 'application/pdf';
  if (ZIP_SIGNATURES.some((signature) => startsWith(bytes, signature))) return 'application/zip';
  // Parquet opens and closes with PAR1 (the footer's length sits just before the closing magic).
  if (bytes.length >= 12 && startsWith(bytes, PARQUET) && startsWith(bytes, PARQUET, bytes.length - 4)) {
    return 'application/vnd.apache.parquet';
  }
  const head = Buffer.from(bytes.subarray(0, 4096)).toString('utf8');
  if (SVG_START.test(head)) return 'image/svg+xml';
  return 'application/octet-stream';
}
