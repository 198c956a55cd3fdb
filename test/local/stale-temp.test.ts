import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { processAlive, removeStaleTempDirs } from '../../local/stale-temp.ts';

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  const pid = child.pid;
  await new Promise((resolve) => child.on('close', resolve));
  if (pid === undefined) throw new Error('no pid');
  return pid;
}

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'custody-stale-temp-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('stale temp folders of local servers', () => {
  it("removes a killed server's folder with the Python sandbox's leftovers in it", async () => {
    const pid = await deadPid();
    expect(processAlive(pid)).toBe(false);
    const stale = join(root, `custody-local-${pid}`, 'custody-python-abc123');
    mkdirSync(join(stale, 'deno-xyz'), { recursive: true });
    writeFileSync(join(stale, 'pyodide.snapshot'), 'x'.repeat(1024));

    expect(removeStaleTempDirs(root)).toEqual([`custody-local-${pid}`]);
    expect(readdirSync(root)).toEqual([]);
  });

  it("keeps the folder of a live process, this one's included", () => {
    const parent = process.ppid;
    mkdirSync(join(root, `custody-local-${parent}`));
    mkdirSync(join(root, `custody-local-${process.pid}`));

    expect(removeStaleTempDirs(root)).toEqual([]);
    expect(readdirSync(root).sort()).toEqual(
      [`custody-local-${parent}`, `custody-local-${process.pid}`].sort(),
    );
  });

  it('leaves alone names it does not own', () => {
    for (const name of ['custody-python-abc', 'custody-local-', 'custody-local-12x', 'other-local-1'])
      mkdirSync(join(root, name));

    expect(removeStaleTempDirs(root, () => false)).toEqual([]);
    expect(readdirSync(root)).toHaveLength(4);
  });

  it('removes a stale symlink itself, never what it points to', () => {
    const target = mkdtempSync(join(tmpdir(), 'custody-stale-target-'));
    try {
      writeFileSync(join(target, 'keep.txt'), 'keep');
      symlinkSync(target, join(root, 'custody-local-999999999'));

      expect(removeStaleTempDirs(root, () => false)).toEqual(['custody-local-999999999']);
      expect(existsSync(join(target, 'keep.txt'))).toBe(true);
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  });
});
