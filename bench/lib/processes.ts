/**
 * Child processes of the benchmark: each one is registered when spawned and killed (its whole
 * process group) when the benchmark ends, however it ends, so no run leaves a server or a Deno
 * process behind. Also reads memory figures from /proc (Linux).
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const children = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Spawns a child in its own process group and registers it for clean-up. */
export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, { ...options, detached: true });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Stops a tracked child: `signal` first, SIGKILL to its group after `graceMs`. Resolves on exit. */
export async function stopTracked(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  try {
    child.kill(signal);
  } catch {
    // gone
  }
  const timer = setTimeout(() => killGroup(child), graceMs);
  await exited;
  clearTimeout(timer);
  killGroup(child); // anything the child left in its group
}

/** Kills every child still running (process exit, Ctrl-C, a failed phase). */
export function killAllTracked(): void {
  for (const child of children) killGroup(child);
  children.clear();
}

let hooked = false;
/** Makes sure tracked children die with this process. */
export function installCleanupHooks(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', killAllTracked);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAllTracked();
      process.exit(130);
    });
  }
}

/** A `VmHWM`/`VmRSS` figure of /proc/<pid>/status, in MiB (undefined when unreadable). */
export function procStatusMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Resets a process's peak RSS (VmHWM) to its current RSS (`echo 5 > /proc/<pid>/clear_refs`). */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Sum of VmRSS (MiB) of every descendant of `pid` (not `pid` itself). */
export function descendantsRssMiB(pid: number): number {
  const parents = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ... ; comm may contain spaces and parentheses
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(after[1]));
    } catch {
      // exited meanwhile
    }
  }
  const family = new Set<number>([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [child, parent] of parents) {
      if (!family.has(child) && family.has(parent)) {
        family.add(child);
        grew = true;
      }
    }
  }
  family.delete(pid);
  let total = 0;
  for (const member of family) total += procStatusMiB(member, 'VmRSS') ?? 0;
  return total;
}

/** Samples `read()` every `intervalMs` and keeps the maximum until stopped. */
export function peakSampler(read: () => number, intervalMs = 100): { stop(): number } {
  let peak = read();
  const timer = setInterval(() => {
    peak = Math.max(peak, read());
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, read());
    },
  };
}

/** Collects a child's stdout lines and resolves the first line matching `pattern`. */
export function waitForLine(
  child: ChildProcess,
  pattern: RegExp,
  timeoutMs: number,
): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let diagnostics = '';
    const timer = setTimeout(
      () =>
        reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms: ${diagnostics.slice(-2000)}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      diagnostics += chunk.toString();
      const match = pattern.exec(buffered);
      if (match) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(match);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      diagnostics += chunk.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`process exited (${code}) before printing ${pattern}: ${diagnostics.slice(-2000)}`));
    });
  });
}
