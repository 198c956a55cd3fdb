/**
 * The Pyodide snapshot kept across starts: built once, reused while it checks out, rebuilt when
 * tampered with, mismatched or refused by Deno, keyed by what it was built from.
 */
import {
  chmodSync,
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PythonSandbox } from '../../lambda/sandbox/python-sandbox.ts';
import {
  obtainSnapshot,
  type SnapshotEvent,
  type SnapshotKeyParts,
  snapshotFormatProblem,
  snapshotKey,
  snapshotKeyParts,
} from '../../lambda/sandbox/python-snapshot-cache.ts';
import { runtimeFilesFromNodeModules } from '../../lambda/sandbox/runtime-files.ts';
import { request } from './helpers.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function newDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'custody-snapshot-test-'));
  dirs.push(dir);
  return dir;
}

/** Bytes laid out as Pyodide's snapshot (magic, offsets, JSON header, one page of memory). */
function fakeSnapshot(fill = 7, buildId = 1): Uint8Array {
  const header = new TextEncoder().encode('{"fake":true}');
  const memoryOffset = 1024;
  const bytes = new Uint8Array(memoryOffset + 65536).fill(fill, memoryOffset);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 1886286592, true);
  view.setUint32(4, memoryOffset, true);
  view.setUint32(8, header.length, true);
  view.setUint32(16, buildId, true);
  bytes.set(header, 48);
  return bytes;
}

const PARTS: SnapshotKeyParts = {
  pyodideVersion: '0.0.1',
  denoVersion: 'deno 9',
  hostScriptSha256: 'a'.repeat(64),
};

function counter(make: () => Uint8Array = () => fakeSnapshot()) {
  const events: SnapshotEvent[] = [];
  let builds = 0;
  return {
    events,
    get builds() {
      return builds;
    },
    options(dir: string, parts = PARTS) {
      return {
        dir,
        parts,
        build: async () => {
          builds += 1;
          return make();
        },
        onEvent: (event: SnapshotEvent) => events.push(event),
      };
    },
  };
}

describe('the kept Python snapshot', () => {
  it('is built once into an owner-only folder and reused, same file, on the next start', async () => {
    const dir = join(newDir(), 'python');
    const seam = counter();
    const path = await obtainSnapshot(seam.options(dir));
    const first = statSync(path);
    expect(seam.builds).toBe(1);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(first.mode & 0o777).toBe(0o400);
    expect(statSync(path.replace(/\.snapshot$/, '.json')).mode & 0o777).toBe(0o400);

    expect(await obtainSnapshot(seam.options(dir))).toBe(path);
    expect(seam.builds).toBe(1);
    const again = statSync(path);
    expect([again.ino, again.mtimeMs]).toEqual([first.ino, first.mtimeMs]);
    expect(seam.events.map((e) => e.kind)).toEqual(['building', 'built', 'reused']);
  });

  it('rebuilds a tampered snapshot, never trusting it', async () => {
    const dir = newDir();
    const seam = counter();
    const path = await obtainSnapshot(seam.options(dir));
    chmodSync(path, 0o600);
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] = 99;
    writeFileSync(path, bytes);
    chmodSync(path, 0o400);

    await obtainSnapshot(seam.options(dir));
    expect(seam.builds).toBe(2);
    expect(seam.events).toContainEqual({
      kind: 'rejected',
      path,
      reason: 'its content does not match its manifest (sha256)',
    });
    expect(readFileSync(path)).toEqual(Buffer.from(fakeSnapshot()));
  });

  it('rebuilds one that others could write, one without a manifest, one whose size changed', async () => {
    const dir = newDir();
    const seam = counter();
    const path = await obtainSnapshot(seam.options(dir));
    chmodSync(path, 0o620);
    await obtainSnapshot(seam.options(dir));
    chmodSync(path, 0o600);
    writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.alloc(65536)]));
    await obtainSnapshot(seam.options(dir));
    rmSync(path.replace(/\.snapshot$/, '.json'));
    await obtainSnapshot(seam.options(dir));
    expect(seam.builds).toBe(4);
    expect(
      seam.events.filter((e) => e.kind === 'rejected').map((e) => (e as { reason: string }).reason),
    ).toEqual([
      'it is writable by group or others',
      `its size is ${fakeSnapshot().length + 65536}, its manifest says ${fakeSnapshot().length}`,
      'it has no manifest (an interrupted build)',
    ]);
  });

  it('is another file for another Pyodide, Deno or host script, and the old one and stray temp files go', async () => {
    const dir = newDir();
    const seam = counter();
    const old = await obtainSnapshot(seam.options(dir));
    writeFileSync(join(dir, 'pyodide-x.snapshot.12345.tmp'), 'half a write');
    writeFileSync(join(dir, 'unrelated.txt'), 'kept');
    const other = { ...PARTS, hostScriptSha256: 'b'.repeat(64) };
    const path = await obtainSnapshot(seam.options(dir, other));
    expect(path).not.toBe(old);
    expect(seam.builds).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(
      [
        `pyodide-${snapshotKey(other)}.json`,
        `pyodide-${snapshotKey(other)}.snapshot`,
        'unrelated.txt',
      ].sort(),
    );
  });

  it('is not written when the build yields something that is not a snapshot', async () => {
    const dir = newDir();
    const seam = counter(() => new Uint8Array(100));
    await expect(obtainSnapshot(seam.options(dir))).rejects.toThrow(
      'the snapshot just built is not one: it lacks the Pyodide snapshot magic number',
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('checks the layout of a snapshot', () => {
    expect(snapshotFormatProblem(fakeSnapshot())).toBeUndefined();
    expect(snapshotFormatProblem(fakeSnapshot().subarray(0, 40))).toBe(
      '40 bytes is shorter than a snapshot header',
    );
    expect(snapshotFormatProblem(fakeSnapshot().subarray(0, 1024 + 4096))).toBe(
      'its memory is not a whole number of WebAssembly pages',
    );
    const badHeader = fakeSnapshot();
    badHeader[48] = 0x7b + 1;
    expect(snapshotFormatProblem(badHeader)).toBe('its header is not JSON');
    const outside = fakeSnapshot();
    new DataView(outside.buffer).setUint32(8, 5000, true);
    expect(snapshotFormatProblem(outside)).toBe('its header points outside the file');
  });

  it('is keyed by the Pyodide version, the Deno version and the host script', async () => {
    const files = runtimeFilesFromNodeModules();
    const dir = newDir();
    const env = { NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', DENO_DIR: join(dir, 'none') };
    const parts = await snapshotKeyParts(files, env);
    expect(parts.pyodideVersion).toBe(
      JSON.parse(readFileSync(join(files.pyodideDir, 'package.json'), 'utf8')).version,
    );
    expect(parts.denoVersion).toMatch(/^deno \d+\.\d+\.\d+/);
    const script = join(dir, 'python-host.mjs');
    copyFileSync(files.hostScriptPath, script);
    const same = await snapshotKeyParts({ ...files, hostScriptPath: script }, env);
    expect(snapshotKey(same)).toBe(snapshotKey(parts));
    writeFileSync(script, `${readFileSync(script, 'utf8')}\n// changed\n`);
    const changed = await snapshotKeyParts({ ...files, hostScriptPath: script }, env);
    expect(snapshotKey(changed)).not.toBe(snapshotKey(parts));
  });
});

describe('a Python sandbox with a snapshot folder', () => {
  it('kills a snapshot build still running when it closes, and keeps nothing of it', async () => {
    const dir = join(newDir(), 'python');
    let building: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      building = resolve;
    });
    const sandbox = new PythonSandbox(runtimeFilesFromNodeModules(), {
      snapshotDir: dir,
      onSnapshot: (e) => {
        if (e.kind === 'building') building();
      },
    });
    const warming = sandbox.warmUp();
    await started;
    await sandbox.close();
    await expect(warming).rejects.toThrow('the Pyodide snapshot could not be built');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('rebuilds a snapshot Deno refuses, then a second sandbox reuses the one built and runs Python from it', async () => {
    const files = runtimeFilesFromNodeModules();
    const dir = join(newDir(), 'python');
    // A file that passes every check but was not made by this Pyodide (its build id differs).
    const parts = await snapshotKeyParts(files, { NO_COLOR: '1', DENO_DIR: join(dir, 'none') });
    await obtainSnapshot({ dir, parts, build: async () => fakeSnapshot(7, 42) });

    const events: SnapshotEvent[] = [];
    const first = new PythonSandbox(files, { snapshotDir: dir, onSnapshot: (e) => events.push(e) });
    try {
      await first.warmUp();
      expect((await first.run(request('python', 'print(6 * 7)'))).stdout).toBe('42\n');
    } finally {
      await first.close();
    }
    expect(events.map((e) => e.kind)).toEqual(['reused', 'rejected', 'building', 'built']);
    expect((events[1] as { reason: string }).reason).toContain('Deno refused it');
    const path = events[3]?.path as string;
    const built = statSync(path);

    const later: SnapshotEvent[] = [];
    const second = new PythonSandbox(files, { snapshotDir: dir, onSnapshot: (e) => later.push(e) });
    try {
      await second.warmUp();
      const result = await second.run(request('python', 'print(6 * 7)'));
      expect(result.stdout).toBe('42\n');
    } finally {
      await second.close();
    }
    expect(later).toEqual([{ kind: 'reused', path }]);
    expect(statSync(path).ino).toBe(built.ino);
  }, 180_000);
});
