/**
 * A file asset's zip as the CDK CLI makes it, and its extraction as Lambda does.
 *
 * The CLI (aws-cdk's `zipDirectory`, yazl underneath) adds every file under the asset folder,
 * following symlinks, deflated, dated 1980-01-01, with "version made by" Unix and the file's
 * `stat.mode` in the upper 16 bits of the external attributes. Lambda unpacks it keeping those
 * permission bits: an executable that lost its x bit, or a file not readable by others, fails
 * there and not on the build host. Both directions are written here, small and dependency-free.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';

/** yazl's "version made by": host 3 (Unix), spec 6.3. */
const MADE_BY_UNIX = (3 << 8) | 63;
const VERSION_NEEDED = 20;
const UTF8_FLAG = 0x0800;
const DEFLATE = 8;
const STORED = 0;
/** 1980-01-01 00:00 as DOS date and time (what `mtime: epoch()` with forceDosTimestamp gives). */
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const DOS_TIME = 0;

/** Files under `dir`, following symlinks, as relative POSIX paths (the CLI's fast-glob '**'). */
function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(dir, prefix)).sort()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    const stat = statSync(path.join(dir, rel));
    if (stat.isDirectory()) out.push(...listFiles(dir, rel));
    else if (stat.isFile()) out.push(rel);
  }
  return out;
}

/** Zips the folder as the CDK CLI would before uploading it as a Lambda code asset. */
export function zipAssetDirectory(dir: string): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const rel of listFiles(dir)) {
    const full = path.join(dir, rel);
    const data = readFileSync(full);
    const mode = statSync(full).mode;
    const compressed = deflateRawSync(data);
    const name = Buffer.from(rel, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(VERSION_NEEDED, 4);
    local.writeUInt16LE(UTF8_FLAG, 6);
    local.writeUInt16LE(DEFLATE, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(MADE_BY_UNIX, 4);
    central.writeUInt16LE(VERSION_NEEDED, 6);
    central.writeUInt16LE(UTF8_FLAG, 8);
    central.writeUInt16LE(DEFLATE, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((mode & 0xffff) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, compressed);
    centrals.push(central, name);
    offset += local.length + name.length + compressed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(centrals.length / 2, 8);
  end.writeUInt16LE(centrals.length / 2, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

export interface ExtractedEntry {
  readonly name: string;
  readonly mode: number;
  readonly bytes: number;
}

/**
 * Unpacks a zip into `into` as Lambda unpacks a function's code: each file with the permission
 * bits stored in the zip (0644 when the zip carries none), folders 0755. Refuses entries that would
 * land outside `into`.
 */
export function extractAssetZip(zip: Buffer, into: string): ExtractedEntry[] {
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error('not a zip: no end of central directory');
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries: ExtractedEntry[] = [];
  mkdirSync(into, { recursive: true, mode: 0o755 });
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`zip entry ${i}: bad central header`);
    const madeBy = zip.readUInt16LE(at + 4) >> 8;
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const compressedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const external = zip.readUInt32LE(at + 38);
    const localOffset = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    const target = path.resolve(into, name);
    if (!target.startsWith(`${path.resolve(into)}${path.sep}`)) throw new Error(`zip entry ${name} escapes`);
    if (name.endsWith('/')) {
      mkdirSync(target, { recursive: true, mode: 0o755 });
      continue;
    }
    const dataStart =
      localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    const raw = zip.subarray(dataStart, dataStart + compressedSize);
    const data = method === DEFLATE ? inflateRawSync(raw) : method === STORED ? raw : undefined;
    if (!data) throw new Error(`zip entry ${name}: compression method ${method} not supported`);
    if (crc32(data) !== crc) throw new Error(`zip entry ${name}: CRC mismatch`);
    const mode = madeBy === 3 && external >>> 16 !== 0 ? (external >>> 16) & 0o777 : 0o644;
    mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
    writeFileSync(target, data);
    chmodSync(target, mode);
    entries.push({ name, mode, bytes: data.length });
  }
  return entries;
}
