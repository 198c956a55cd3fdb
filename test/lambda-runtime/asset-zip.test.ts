import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extractAssetZip, zipAssetDirectory } from './asset-zip.ts';

/** The central directory's entries: name, "version made by" host, and the mode in the external attributes. */
function centralEntries(zip: Buffer): { name: string; host: number; mode: number }[] {
  const entries: { name: string; host: number; mode: number }[] = [];
  let at = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  while (at >= 0 && zip.readUInt32LE(at) === 0x02014b50) {
    const nameLength = zip.readUInt16LE(at + 28);
    entries.push({
      name: zip.toString('utf8', at + 46, at + 46 + nameLength),
      host: zip.readUInt16LE(at + 4) >> 8,
      mode: (zip.readUInt32LE(at + 38) >>> 16) & 0o777,
    });
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return entries;
}

describe('asset zip', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'asset-zip-'));
    mkdirSync(path.join(dir, 'src', 'runtime'), { recursive: true });
    writeFileSync(path.join(dir, 'src', 'index.mjs'), 'export const handler = () => 1;\n');
    writeFileSync(path.join(dir, 'src', 'runtime', 'deno'), '#!/bin/sh\necho deno\n');
    chmodSync(path.join(dir, 'src', 'runtime', 'deno'), 0o755);
    writeFileSync(path.join(dir, 'src', 'private.txt'), 'owner only');
    chmodSync(path.join(dir, 'src', 'private.txt'), 0o600);
    symlinkSync('index.mjs', path.join(dir, 'src', 'link.mjs'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stores each file with Unix as its host and its permission bits, following symlinks, as the CDK CLI does', () => {
    const zip = zipAssetDirectory(path.join(dir, 'src'));
    expect(centralEntries(zip)).toEqual([
      { name: 'index.mjs', host: 3, mode: 0o644 & ~process.umask() },
      { name: 'link.mjs', host: 3, mode: 0o644 & ~process.umask() },
      { name: 'private.txt', host: 3, mode: 0o600 },
      { name: 'runtime/deno', host: 3, mode: 0o755 },
    ]);
  });

  it('extracts the same bytes with the same permission bits', () => {
    const zip = zipAssetDirectory(path.join(dir, 'src'));
    const out = path.join(dir, 'out');
    extractAssetZip(zip, out);
    expect(statSync(path.join(out, 'runtime', 'deno')).mode & 0o777).toBe(0o755);
    expect(statSync(path.join(out, 'private.txt')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(out, 'runtime', 'deno'), 'utf8')).toBe('#!/bin/sh\necho deno\n');
    expect(readFileSync(path.join(out, 'link.mjs'), 'utf8')).toBe('export const handler = () => 1;\n');
  });

  it('refuses an entry that would be written outside the target folder', () => {
    const zip = zipAssetDirectory(path.join(dir, 'src'));
    const evil = Buffer.from(zip);
    // Rename "index.mjs" to "../ex.mjs" (same length) in the central directory.
    const central = evil.indexOf(
      Buffer.from('index.mjs'),
      evil.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])),
    );
    evil.write('../ex.mjs', central, 'utf8');
    expect(() => extractAssetZip(evil, path.join(dir, 'out'))).toThrow(/escapes/);
  });
});
