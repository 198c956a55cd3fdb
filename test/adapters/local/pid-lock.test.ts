import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalServerError } from '../../../lambda/adapters/local/local-server-error.ts';
import { claimPidLock } from '../../../lambda/adapters/local/pid-lock.ts';

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'custody-pid-lock-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

describe('claimPidLock', () => {
  it('claims a free data directory with this process id, readable by the owner only, and releases it', () => {
    const lock = claimPidLock(home);
    expect(lock.path).toBe(join(home, 'server.pid'));
    expect(readFileSync(lock.path, 'utf8')).toBe(`${process.pid}\n`);
    expect(statSync(lock.path).mode & 0o777).toBe(0o600);
    lock.release();
    expect(existsSync(lock.path)).toBe(false);
  });

  it('refuses a directory a live server holds, naming its pid and what to do', () => {
    // The test runner's parent is alive and is not this process.
    writeFileSync(join(home, 'server.pid'), `${process.ppid}\n`);
    expect(() => claimPidLock(home)).toThrow(LocalServerError);
    expect(() => claimPidLock(home)).toThrow(
      `another custody local server (pid ${process.ppid}) is using ${home}; stop it, or set CUSTODY_HOME to another directory`,
    );
    expect(readFileSync(join(home, 'server.pid'), 'utf8')).toBe(`${process.ppid}\n`);
  });

  it('takes over the lock of a process that is gone', () => {
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(join(home, 'server.pid'), `${gone}\n`);
    claimPidLock(home);
    expect(readFileSync(join(home, 'server.pid'), 'utf8')).toBe(`${process.pid}\n`);
  });

  it.each([
    ['its own pid (a restart in the same process)', () => `${process.pid}\n`],
    ['garbage', () => 'not a pid\n'],
  ])('takes over a lock holding %s', (_label, content) => {
    writeFileSync(join(home, 'server.pid'), content());
    claimPidLock(home);
    expect(readFileSync(join(home, 'server.pid'), 'utf8')).toBe(`${process.pid}\n`);
  });
});
