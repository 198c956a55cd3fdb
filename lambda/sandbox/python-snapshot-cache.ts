/**
 * A Pyodide memory snapshot kept across starts in an owner-only folder (local mode:
 * `.custody/python/`), so only the first start ever pays for building it.
 *
 *   <dir>/pyodide-<key>.snapshot   the snapshot (mode 0400)
 *   <dir>/pyodide-<key>.json       its manifest: what it was built from, its size and sha256 (0400)
 *
 * `<key>` hashes the Pyodide version, the Deno version and the sha256 of the host script: any of
 * them changing names another file, and the old ones are removed. A file is reused only if its
 * manifest matches the key, it is a regular file owned by this user that nobody else can write,
 * its size and sha256 are the manifest's, and its header is a Pyodide snapshot's; anything else is
 * removed and rebuilt, never trusted. Both files are written atomically (temp file + rename), the
 * snapshot first, so a manifest only ever describes a complete snapshot.
 *
 * The snapshot is loaded into every Python run: whoever can write it controls every run. It is
 * only ever written here, by the server's own process, never by a sandboxed one (they may only
 * read it), into a folder only the owner can enter. The manifest's sha256 catches corruption, not
 * an attacker who can write the folder (they could rewrite both): the folder's permissions are
 * the protection.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  type Stats,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import type { RuntimeFiles } from './runtime-files.ts';

/** Pyodide's snapshot header: magic, memory offset, header length, 0, build id (8 words), JSON. */
const SNAPSHOT_MAGIC = 1886286592;
const SNAPSHOT_HEADER_BYTES = 48;
const WASM_PAGE_BYTES = 65536;
export const SNAPSHOT_MAX_BYTES = 512 * 1024 * 1024;
const FILE_PREFIX = 'pyodide-';

/** What a snapshot depends on: a change to any of them makes it another snapshot. */
export interface SnapshotKeyParts {
  readonly pyodideVersion: string;
  readonly denoVersion: string;
  readonly hostScriptSha256: string;
}

export type SnapshotEvent =
  | { readonly kind: 'building'; readonly path: string }
  | { readonly kind: 'built'; readonly path: string; readonly bytes: number; readonly ms: number }
  | { readonly kind: 'reused'; readonly path: string }
  | { readonly kind: 'rejected'; readonly path: string; readonly reason: string };

const manifestSchema = z.strictObject({
  format: z.literal(1),
  key: z.string(),
  pyodideVersion: z.string(),
  denoVersion: z.string(),
  hostScriptSha256: z.string(),
  bytes: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads the Pyodide version (its package.json), the Deno version (`deno --version`), hashes the host script. */
export async function snapshotKeyParts(
  files: RuntimeFiles,
  env: NodeJS.ProcessEnv,
): Promise<SnapshotKeyParts> {
  const pkg = JSON.parse(readFileSync(join(files.pyodideDir, 'package.json'), 'utf8')) as {
    version?: unknown;
  };
  if (typeof pkg.version !== 'string') throw new Error(`${files.pyodideDir}/package.json names no version`);
  const { stdout } = await promisify(execFile)(files.denoPath, ['--version'], { env, timeout: 30_000 });
  const denoVersion = stdout.trim();
  if (!denoVersion) throw new Error(`${files.denoPath} --version printed nothing`);
  return {
    pyodideVersion: pkg.version,
    denoVersion,
    hostScriptSha256: sha256(readFileSync(files.hostScriptPath)),
  };
}

export function snapshotKey(parts: SnapshotKeyParts): string {
  return sha256(JSON.stringify([parts.pyodideVersion, parts.denoVersion, parts.hostScriptSha256])).slice(
    0,
    32,
  );
}

/** Why `bytes` cannot be a Pyodide memory snapshot, or undefined if its header and layout hold. */
export function snapshotFormatProblem(bytes: Uint8Array): string | undefined {
  if (bytes.length < SNAPSHOT_HEADER_BYTES) return `${bytes.length} bytes is shorter than a snapshot header`;
  if (bytes.length > SNAPSHOT_MAX_BYTES) return `${bytes.length} bytes is more than ${SNAPSHOT_MAX_BYTES}`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== SNAPSHOT_MAGIC) return 'it lacks the Pyodide snapshot magic number';
  const memoryOffset = view.getUint32(4, true);
  const headerBytes = view.getUint32(8, true);
  if (SNAPSHOT_HEADER_BYTES + headerBytes > memoryOffset || memoryOffset >= bytes.length) {
    return 'its header points outside the file';
  }
  const memoryBytes = bytes.length - memoryOffset;
  if (memoryBytes % WASM_PAGE_BYTES !== 0) return 'its memory is not a whole number of WebAssembly pages';
  try {
    JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(48, 48 + headerBytes)));
  } catch {
    return 'its header is not JSON';
  }
  return undefined;
}

export interface SnapshotCacheOptions {
  /** The owner-only folder the snapshot is kept in (created 0700 if missing). */
  readonly dir: string;
  readonly parts: SnapshotKeyParts;
  /** Builds a fresh snapshot (the Deno host in snapshot mode). */
  readonly build: () => Promise<Uint8Array>;
  readonly onEvent?: (event: SnapshotEvent) => void;
}

/** The path of a trusted snapshot for `parts`: the kept one if it checks out, else one built now. */
export async function obtainSnapshot(options: SnapshotCacheOptions): Promise<string> {
  const dir = ensurePrivateDir(options.dir);
  const key = snapshotKey(options.parts);
  const path = join(dir, `${FILE_PREFIX}${key}.snapshot`);
  const manifestPath = manifestPathOf(path);
  removeOthers(dir, [path, manifestPath]);
  const problem = trustProblem(path, manifestPath, key, options.parts);
  if (problem === undefined) {
    options.onEvent?.({ kind: 'reused', path });
    return path;
  }
  if (problem !== ABSENT) options.onEvent?.({ kind: 'rejected', path, reason: problem });
  discardSnapshot(path);
  options.onEvent?.({ kind: 'building', path });
  const started = performance.now();
  const bytes = await options.build();
  const invalid = snapshotFormatProblem(bytes);
  if (invalid) throw new Error(`the snapshot just built is not one: ${invalid}`);
  writePrivateAtomic(path, bytes);
  const manifest: z.infer<typeof manifestSchema> = {
    format: 1,
    key,
    ...options.parts,
    bytes: bytes.length,
    sha256: sha256(bytes),
  };
  writePrivateAtomic(manifestPath, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
  options.onEvent?.({ kind: 'built', path, bytes: bytes.length, ms: performance.now() - started });
  return path;
}

/** Removes a kept snapshot and its manifest (Deno refused it, or it failed a check). */
export function discardSnapshot(path: string): void {
  rmSync(manifestPathOf(path), { force: true }); // the manifest first: no manifest, no trust
  rmSync(path, { force: true });
}

function manifestPathOf(snapshotPath: string): string {
  return snapshotPath.replace(/\.snapshot$/, '.json');
}

const ABSENT = 'absent';

function trustProblem(
  path: string,
  manifestPath: string,
  key: string,
  parts: SnapshotKeyParts,
): string | undefined {
  const snapshotStats = lstatOrUndefined(path);
  const manifestStats = lstatOrUndefined(manifestPath);
  if (!snapshotStats && !manifestStats) return ABSENT;
  if (!manifestStats) return 'it has no manifest (an interrupted build)';
  if (!snapshotStats) return 'its manifest names no snapshot file';
  const fileProblem =
    privateFileProblem(manifestStats, 'its manifest') ?? privateFileProblem(snapshotStats, 'it');
  if (fileProblem) return fileProblem;
  let manifest: z.infer<typeof manifestSchema>;
  try {
    const parsed = manifestSchema.safeParse(JSON.parse(readFileSync(manifestPath, 'utf8')));
    if (!parsed.success) return `its manifest is malformed (${parsed.error.issues[0]?.path.join('.')})`;
    manifest = parsed.data;
  } catch {
    return 'its manifest is not JSON';
  }
  if (
    manifest.key !== key ||
    manifest.pyodideVersion !== parts.pyodideVersion ||
    manifest.denoVersion !== parts.denoVersion ||
    manifest.hostScriptSha256 !== parts.hostScriptSha256
  ) {
    return 'it was built for another Pyodide, Deno or host script';
  }
  if (snapshotStats.size !== manifest.bytes)
    return `its size is ${snapshotStats.size}, its manifest says ${manifest.bytes}`;
  const bytes = readFileSync(path);
  if (sha256(bytes) !== manifest.sha256) return 'its content does not match its manifest (sha256)';
  return snapshotFormatProblem(bytes);
}

function privateFileProblem(stats: Stats, what: string): string | undefined {
  if (!stats.isFile()) return `${what} is not a regular file`;
  if (process.getuid && stats.uid !== process.getuid()) return `${what} is owned by another user`;
  if ((stats.mode & 0o022) !== 0) return `${what} is writable by group or others`;
  return undefined;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Creates the folder 0700, or checks an existing one is ours and closes it to others. */
function ensurePrivateDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stats = lstatSync(dir);
  if (!stats.isDirectory()) throw new Error(`the snapshot folder ${dir} is not a directory`);
  if (process.getuid && stats.uid !== process.getuid()) {
    throw new Error(`the snapshot folder ${dir} is owned by another user: remove it`);
  }
  if ((stats.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  return dir;
}

/** Snapshots of other keys and temp files of interrupted writes: the folder is this server's alone. */
function removeOthers(dir: string, keep: readonly string[]): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name.startsWith(FILE_PREFIX) && !keep.includes(path)) rmSync(path, { force: true, recursive: true });
  }
}

function writePrivateAtomic(path: string, bytes: Uint8Array): void {
  const temp = `${path}.${process.pid}.tmp`;
  rmSync(temp, { force: true });
  const fd = openSync(temp, 'wx', 0o400);
  try {
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}
