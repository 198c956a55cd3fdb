/**
 * One local server per data directory: `<home>/server.pid` names the process that holds it. A lock
 * left by a process that is gone is stale and taken over; one held by a live process is refused.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { LocalServerError } from './local-server-error.ts';

export interface PidLock {
  /** `<home>/server.pid` */
  readonly path: string;
  /** Removes the lock file (on close). */
  release(): void;
}

/** Claims `home` for this process; throws a LocalServerError naming the pid if another live server holds it. */
export function claimPidLock(home: string): PidLock {
  const path = `${home}/server.pid`;
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 0);
        throw new LocalServerError(
          `another custody local server (pid ${pid}) is using ${home}; stop it, or set CUSTODY_HOME to another directory`,
        );
      } catch (error) {
        if (error instanceof LocalServerError) throw error;
        // ESRCH: the process is gone; its lock is stale.
      }
    }
  } catch (error) {
    if (error instanceof LocalServerError) throw error;
  }
  writeFileSync(path, `${process.pid}\n`, { mode: 0o600 });
  return { path, release: () => rmSync(path, { force: true }) };
}
