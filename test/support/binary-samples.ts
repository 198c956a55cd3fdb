/** Byte samples the binary-file tests share: every byte value, and a tiny valid PNG. */
import { deflateSync, inflateSync } from 'node:zlib';

/** All 256 byte values, then sequences that are not UTF-8 (a lone continuation, an overlong form, a cut character). */
export function allByteValues(): Uint8Array {
  const bytes = new Uint8Array(256 + 8);
  for (let i = 0; i < 256; i++) bytes[i] = i;
  bytes.set([0x80, 0xc0, 0xaf, 0xff, 0xfe, 0xed, 0xa0, 0xe2], 256);
  return bytes;
}

/**
 * Python code that writes `name` as a valid 2x2 RGB PNG built with zlib and struct (what a chart
 * library would write), and prints its length.
 */
export function pythonPngCode(name: string): string {
  return [
    'import struct, zlib',
    'def chunk(kind, data):',
    '    body = kind + data',
    "    return struct.pack('>I', len(data)) + body + struct.pack('>I', zlib.crc32(body) & 0xffffffff)",
    "raw = b''.join(b'\\x00' + bytes([255, 0, 0, 0, 0, 255]) for _ in range(2))",
    "png = b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 2, 2, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')",
    `open(${JSON.stringify(name)}, 'wb').write(png)`,
    'print(len(png))',
  ].join('\n');
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) c = (crcTable[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Reads a PNG as a decoder would: the signature, each chunk's CRC, the header, and the inflated
 * image data. Throws on anything invalid; returns what `pythonPngCode` meant to draw.
 */
export function decodePng(bytes: Uint8Array): { width: number; height: number; pixels: number[] } {
  const buffer = Buffer.from(bytes);
  if (buffer.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a') throw new Error('not a PNG signature');
  let at = 8;
  let header: Buffer | undefined;
  const data: Buffer[] = [];
  while (at < buffer.length) {
    const length = buffer.readUInt32BE(at);
    const body = buffer.subarray(at + 4, at + 8 + length);
    if (crc32(body) !== buffer.readUInt32BE(at + 8 + length)) throw new Error('bad chunk CRC');
    const kind = body.subarray(0, 4).toString('latin1');
    if (kind === 'IHDR') header = body.subarray(4);
    if (kind === 'IDAT') data.push(body.subarray(4));
    at += 12 + length;
    if (kind === 'IEND') break;
  }
  if (!header || at !== buffer.length) throw new Error('no header, or bytes after IEND');
  return {
    width: header.readUInt32BE(0),
    height: header.readUInt32BE(4),
    pixels: [...inflateSync(Buffer.concat(data))],
  };
}

/** The same PNG, built here, to compare with what the sandbox wrote. */
export function expectedPng(): Uint8Array {
  const chunk = (kind: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(kind, 'latin1'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(2, 0);
  ihdr.writeUInt32BE(2, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.from([0, 255, 0, 0, 0, 0, 255]);
  const raw = Buffer.concat([row, row]);
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', deflateSync(raw)),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  );
}
