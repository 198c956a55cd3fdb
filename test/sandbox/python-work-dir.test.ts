/** The Python sandbox's folder: leftovers of dead owners go, live ones stay. */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeLeftovers } from '../../lambda/sandbox/python-work-dir.ts';

describe('Python sandbox folders', () => {
  it('removes the folders of sandboxes whose process is gone (or whose pid is reused), and keeps live ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'custody-leftovers-'));
    try {
      const dead = join(dir, 'custody-python-dead');
      const live = join(dir, 'custody-python-live');
      const unknown = join(dir, 'custody-python-unknown');
      const reused = join(dir, 'custody-python-reused');
      for (const folder of [dead, live, unknown, reused])
        mkdirSync(join(folder, 'runtime'), { recursive: true });
      writeFileSync(join(dead, 'owner'), '2147483646'); // above any pid_max: no such process
      writeFileSync(join(live, 'owner'), String(process.pid));
      // This pid, but another start time: a dead owner whose pid another process has now.
      writeFileSync(join(reused, 'owner'), `${process.pid} 1`);
      expect(removeLeftovers(dir).sort()).toEqual([dead, reused].sort());
      expect(readdirSync(dir).sort()).toEqual(['custody-python-live', 'custody-python-unknown']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
