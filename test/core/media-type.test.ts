import { describe, expect, it } from 'vitest';
import { sniffMediaType } from '../../lambda/core/media-type.ts';
import { expectedPng } from '../support/binary-samples.ts';

const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(
    Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p)))),
  );

describe('sniffMediaType', () => {
  it.each([
    ['a PNG', expectedPng(), 'image/png'],
    ['a JPEG', bytes([0xff, 0xd8, 0xff, 0xe0], 'JFIF'), 'image/jpeg'],
    ['a GIF87a', bytes('GIF87a', [1, 0, 1, 0]), 'image/gif'],
    ['a GIF89a', bytes('GIF89a', [1, 0, 1, 0]), 'image/gif'],
    ['an SVG', bytes('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'image/svg+xml'],
    [
      'an SVG after a declaration, a comment and a doctype',
      bytes(
        '\uFEFF<?xml version="1.0"?>\n<!-- chart -->\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN">\n<svg>',
      ),
      'image/svg+xml',
    ],
    ['a PDF', bytes('%PDF-1.7\n'), 'application/pdf'],
    ['a ZIP', bytes('PK', [3, 4], 'rest'), 'application/zip'],
    ['an empty ZIP', bytes('PK', [5, 6], [0, 0, 0, 0]), 'application/zip'],
    [
      'a Parquet file',
      bytes('PAR1', [0, 1, 2, 3, 4, 5], [4, 0, 0, 0], 'PAR1'),
      'application/vnd.apache.parquet',
    ],
    [
      'bytes that only open like Parquet',
      bytes('PAR1', [0, 1, 2, 3, 4, 5, 6, 7]),
      'application/octet-stream',
    ],
    ['HTML that mentions svg later', bytes('<html><svg></svg></html>'), 'application/octet-stream'],
    ['random bytes', bytes([0x00, 0x13, 0xfe, 0x42]), 'application/octet-stream'],
    ['nothing', new Uint8Array(0), 'application/octet-stream'],
    ['a PNG signature cut short', bytes([0x89, 0x50, 0x4e, 0x47]), 'application/octet-stream'],
  ])('names %s', (_what, input, type) => {
    expect(sniffMediaType(input)).toBe(type);
  });
});
