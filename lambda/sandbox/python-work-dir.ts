/**
 * The folder of one Python sandbox, under the machine's temp folder:
 *
 *   custody-python-XXXX/owner           the owning process's pid and start time (leftovers of dead
 *                                       owners are removed, also when the pid was reused since)
 *   custody-python-XXXX/no-cache        a regular file: DENO_DIR points under it, so no process
 *                                       can ever create Deno's cache folder (caches stay in memory)
 *   custody-python-XXXX/runtime-XXXX/   neutral links to the runtime files, the processes' working
 *                                       directory: the paths they see say nothing of the host
 *   custody-python-XXXX/pyodide.snapshot  a snapshot built locally, when there is neither a prebuilt
 *                                       one nor a folder to keep one in (python-snapshot-cache.ts)
 */
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { RuntimeFiles } from './runtime-files.ts';

/** The neutral names, inside a sandbox's folder, of the files every process reads. */
const LINKS = {
  pyodideDir: 'pyodide',
  hostScript: 'host.mjs',
  snapshot: 'snapshot',
  pythonPackages: 'packages',
} as const;
/** Where the processes run: the folder of links (nothing else in it is readable to them). */
const RUNTIME_LINKS_DIR = 'runtime';
/** A regular file: DENO_DIR points under it, so no process can ever create its cache folder. */
const NO_CACHE_FILE = 'no-cache';
/**
 * The sandbox's owner: this process's pid and its start time (Linux), to tell leftovers of a dead
 * process from a live one even once another process has the pid (a `kill -9`, then a reboot).
 */
const OWNER_FILE = 'owner';
const WORK_DIR_PREFIX = 'custody-python-';

/** The paths a process is given: links inside the sandbox's folder, and the cache path. */
export interface NeutralLinks {
  readonly dir: string;
  readonly pyodideDir: string;
  readonly hostScript: string;
  readonly snapshot?: string;
  /** The profile's Pyodide packages, when the runtime files hold some (#17). */
  readonly pythonPackagesDir?: string;
  readonly denoDir: string;
}

export interface WorkDir {
  readonly dir: string;
  readonly denoDir: string;
  /** Links the snapshot (if any, replacing an earlier link) and returns the paths a process is given. */
  links(snapshotPath: string | undefined): NeutralLinks;
}

export function createWorkDir(parent: string, files: RuntimeFiles): WorkDir {
  const dir = mkdtempSync(join(parent, WORK_DIR_PREFIX));
  writeFileSync(join(dir, OWNER_FILE), `${process.pid} ${processStart(process.pid) ?? ''}`.trim());
  writeFileSync(join(dir, NO_CACHE_FILE), '', { mode: 0o400 });
  const denoDir = join(dir, NO_CACHE_FILE, 'deno');
  const linksDir = mkdtempSync(join(dir, `${RUNTIME_LINKS_DIR}-`));
  symlinkSync(files.pyodideDir, join(linksDir, LINKS.pyodideDir));
  symlinkSync(files.hostScriptPath, join(linksDir, LINKS.hostScript));
  if (files.pythonPackagesDir) symlinkSync(files.pythonPackagesDir, join(linksDir, LINKS.pythonPackages));
  return {
    dir,
    denoDir,
    links(snapshotPath) {
      const base = {
        dir: linksDir,
        pyodideDir: join(linksDir, LINKS.pyodideDir),
        hostScript: join(linksDir, LINKS.hostScript),
        ...(files.pythonPackagesDir ? { pythonPackagesDir: join(linksDir, LINKS.pythonPackages) } : {}),
        denoDir,
      };
      rmSync(join(linksDir, LINKS.snapshot), { force: true });
      if (!snapshotPath) return base;
      symlinkSync(snapshotPath, join(linksDir, LINKS.snapshot));
      return { ...base, snapshot: join(linksDir, LINKS.snapshot) };
    },
  };
}

/**
 * Removes the folders that sandboxes of processes no longer running left in `dir` (a crash, a
 * kill): a pre-built snapshot, links. Folders of live processes, and any whose owner cannot be
 * told, are kept.
 */
export function removeLeftovers(dir: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.startsWith(WORK_DIR_PREFIX));
  } catch {
    return removed;
  }
  for (const name of names) {
    const path = join(dir, name);
    try {
      const [pidText, started] = readFileSync(join(path, OWNER_FILE), 'utf8').trim().split(' ');
      const owner = Number(pidText);
      if (!Number.isInteger(owner) || owner <= 0 || isAlive(owner, started)) continue;
      if (!statSync(path).isDirectory()) continue;
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // no owner file (yet, or not ours): left alone
    }
  }
  return removed;
}

/** Whether `pid` runs and, when its start time is known on both sides, is the same process. */
function isAlive(pid: number, started: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const now = processStart(pid);
  return started === undefined || now === undefined || now === started;
}

/** A process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or undefined. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
