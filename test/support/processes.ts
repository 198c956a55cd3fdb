/** The child processes of this one, from Linux's /proc (zombies included, with their state). */
import { readdirSync, readFileSync } from 'node:fs';

export interface ChildProcessInfo {
  readonly pid: number;
  readonly name: string;
  /** `Z` for a zombie (exited, never reaped). */
  readonly state: string;
}

function childProcesses(parentPid = process.pid): ChildProcessInfo[] {
  const found: ChildProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const [state = '', ppid = ''] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === parentPid) found.push({ pid: Number(entry), name, state });
    } catch {
      // The process ended while being read.
    }
  }
  return found;
}

/** The esbuild processes (live or zombie) that are children of this one. */
export function esbuildChildren(parentPid = process.pid): ChildProcessInfo[] {
  return childProcesses(parentPid).filter((child) => child.name === 'esbuild');
}
