import { mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LineAppender } from '../../../lambda/adapters/local/line-appender.ts';

describe('LineAppender', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'custody-appender-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const fileLines = (path: string) => readFileSync(path, 'utf8').split('\n').slice(0, -1);

  it('resolves each append only once its own line is in the file', async () => {
    const appender = new LineAppender(join(dir, 'each.log'));
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i}`);
    await Promise.all(
      lines.map(async (line) => {
        await appender.append(line);
        expect(fileLines(appender.path)).toContain(line);
      }),
    );
    expect(fileLines(appender.path)).toEqual(lines);
  });

  it('writes the lines queued in one tick together, and those queued during that write next, in order', async () => {
    const appender = new LineAppender(join(dir, 'batches.log'));
    const first = ['a', 'b', 'c'].map((line) => appender.append(line));
    // The first append is now in flight: these wait for it and go in the next one.
    await Promise.resolve();
    await Promise.resolve();
    const second = ['d', 'e'].map((line) => appender.append(line));
    await first[0];
    expect(fileLines(appender.path)).toEqual(['a', 'b', 'c']);
    await Promise.all([...first, ...second]);
    expect(fileLines(appender.path)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('keeps arrival order and loses nothing when hundreds of appends race', async () => {
    const appender = new LineAppender(join(dir, 'race.log'));
    const lines = Array.from({ length: 500 }, (_, i) => `{"n":${i}}`);
    const pending: Promise<void>[] = [];
    for (const [i, line] of lines.entries()) {
      pending.push(appender.append(line));
      if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(pending);
    expect(fileLines(appender.path)).toEqual(lines);
  });

  it('rejects every line of a batch that could not be written, then writes once it can', async () => {
    const target = join(dir, 'later', 'sts.log');
    const appender = new LineAppender(target);
    const failed = await Promise.allSettled([appender.append('x'), appender.append('y')]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((failed[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'ENOENT' });
    mkdirSync(join(dir, 'later'));
    await appender.append('z');
    expect(fileLines(target)).toEqual(['z']);
  });

  it('creates the directory when asked to', async () => {
    const appender = new LineAppender(join(dir, 'made', 'here', 'audit.log'), { createDirectory: true });
    await appender.append('first');
    expect(fileLines(appender.path)).toEqual(['first']);
  });

  /** How many of this process's file descriptors are open on `path` (Linux). */
  const openOn = (path: string) =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === path;
      } catch {
        return false;
      }
    }).length;

  it('keeps the file open between writes and closes it once idle', async () => {
    // Only the idle timer is faked: the file system runs for real.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const path = join(dir, 'idle.log');
      const appender = new LineAppender(path, { idleCloseMs: 50 });
      await appender.append('one');
      await appender.append('two');
      expect(openOn(path)).toBe(1);
      // Moved away while open: the lines follow the open file until it is closed.
      renameSync(path, `${path}.1`);
      await appender.append('three');
      expect(fileLines(`${path}.1`)).toEqual(['one', 'two', 'three']);
      vi.advanceTimersByTime(49);
      await appender.settled();
      expect(openOn(`${path}.1`)).toBe(1);
      vi.advanceTimersByTime(1);
      await appender.settled();
      expect(openOn(`${path}.1`)).toBe(0);
      await appender.append('four');
      expect(fileLines(path)).toEqual(['four']);
      await appender.close();
      expect(openOn(path)).toBe(0);
      await appender.append('five');
      expect(fileLines(path)).toEqual(['four', 'five']);
      await appender.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('closes only after the lines already appended are written', async () => {
    const path = join(dir, 'close.log');
    const appender = new LineAppender(path);
    const lines = Array.from({ length: 20 }, (_, i) => `line ${i}`);
    const pending = lines.map((line) => appender.append(line));
    await appender.close();
    await Promise.all(pending);
    expect(fileLines(path)).toEqual(lines);
    expect(openOn(path)).toBe(0);
  });
});
