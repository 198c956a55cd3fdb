/**
 * A temp dir owned by one local server process, named after its pid, so that what a killed server
 * left there (the Python sandbox's `custody-python-*` folder: the Deno cache and a 34 MB Pyodide
 * snapshot) is removed by the next start rather than kept forever.
 *
 * The Python sandbox makes its folder with `mkdtemp(os.tmpdir())` and its name records no owner;
 * pointing TMPDIR at `custody-local-<pid>` before the server starts gives every temp folder of
 * the process an owner that can be checked. A folder whose pid is no longer alive is stale. A pid
 * that is alive (even if reused by another program) keeps its folder: removal errs on keeping.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'custody-local-';

/** True if a process with this pid exists (EPERM: it exists but belongs to another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes `custody-local-<pid>` folders in `root` whose process is gone; returns their names. */
export function removeStaleTempDirs(root: string, alive: (pid: number) => boolean = processAlive): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return removed;
  }
  for (const name of names) {
    const match = /^custody-local-(\d+)$/.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || alive(pid)) continue;
    try {
      // A symlink is removed itself, never followed.
      rmSync(join(root, name), { recursive: true, force: true });
      removed.push(name);
    } catch {
      // Another user's folder in a shared temp dir: not ours to remove, and no reason not to start.
    }
  }
  return removed;
}

/**
 * Removes stale folders of dead local servers, then makes this process's own one, points TMPDIR
 * (which `os.tmpdir()` reads) at it, and removes it when the process exits. Returns its path.
 */
export function useOwnTempDir(root: string = tmpdir()): string {
  removeStaleTempDirs(root);
  const own = join(root, `${PREFIX}${process.pid}`);
  // One with this pid already there is a dead process's (the pid was reused): nothing in it is ours.
  rmSync(own, { recursive: true, force: true });
  // Not recursive: if someone recreates the name in between, this fails rather than using theirs.
  mkdirSync(own, { mode: 0o700 });
  process.env.TMPDIR = own;
  process.on('exit', () => rmSync(own, { recursive: true, force: true }));
  return own;
}
