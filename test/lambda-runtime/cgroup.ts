/**
 * Lambda's resource model for one emulated execution environment, with Linux cgroups (root
 * only): a CPU share proportional to memory (Lambda gives about one vCPU per 1,769 MB), a memory
 * limit of the function's size, and a freezer for the whole process tree between invocations.
 * cgroup v2 (`cpu.max`, `memory.max`, `cgroup.freeze`) when the unified hierarchy has the
 * controllers, else v1 (`cpu.cfs_quota_us`, `memory.limit_in_bytes`, `freezer.state`).
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** MB of function memory per vCPU (AWS: "at 1,769 MB, a function has the equivalent of one vCPU"). */
const MB_PER_VCPU = 1769;
const PERIOD_US = 100_000;
const ROOT = '/sys/fs/cgroup';

export interface CgroupLimits {
  readonly memoryMiB: number;
}

export interface EnvironmentCgroups {
  /** Folders the sandbox's first process must join (its children follow). */
  readonly dirs: readonly string[];
  /** What was applied, for the report, e.g. "cpu 0.579 vCPU (cgroup v1 cfs 57885/100000 us)". */
  readonly description: string;
  /** CPU time the environment's processes have used so far, in ms (whatever the host's load). */
  cpuMs(): number;
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /** Removes the cgroups once their processes are gone. */
  remove(): Promise<void>;
}

function controllersV2(): string[] {
  const file = path.join(ROOT, 'cgroup.controllers');
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split(/\s+/) : [];
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (check()) return;
    await sleep(1);
  }
  throw new Error(`cgroup: ${what} did not happen within 2 s`);
}

async function removeWhenEmpty(dirs: readonly string[]): Promise<void> {
  const empty = (d: string) => readFileSync(path.join(d, 'cgroup.procs'), 'utf8').trim() === '';
  await waitFor(() => dirs.every(empty), 'emptying');
  for (const d of dirs) rmdirSync(d);
}

/** Creates the cgroups of one environment, or returns undefined when not root / no cgroups. */
export function createCgroups(name: string, limits: CgroupLimits): EnvironmentCgroups | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const quotaUs = Math.round((limits.memoryMiB / MB_PER_VCPU) * PERIOD_US);
  const memoryBytes = limits.memoryMiB * 1024 * 1024;
  const vcpu = (quotaUs / PERIOD_US).toFixed(3);
  const v2 = controllersV2();
  if (v2.includes('cpu') && v2.includes('memory')) {
    const dir = path.join(ROOT, name);
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'cpu.max'), `${quotaUs} ${PERIOD_US}`);
    writeFileSync(path.join(dir, 'memory.max'), String(memoryBytes));
    const frozen = () => /^frozen 1$/m.test(readFileSync(path.join(dir, 'cgroup.events'), 'utf8'));
    return {
      dirs: [dir],
      cpuMs: () =>
        Number(/^usage_usec (\d+)$/m.exec(readFileSync(path.join(dir, 'cpu.stat'), 'utf8'))?.[1]) / 1000,
      description: `${vcpu} vCPU (cgroup v2 cpu.max ${quotaUs} ${PERIOD_US}), memory.max ${limits.memoryMiB} MiB, cgroup.freeze`,
      freeze: async () => {
        writeFileSync(path.join(dir, 'cgroup.freeze'), '1');
        await waitFor(frozen, 'freeze');
      },
      thaw: async () => {
        writeFileSync(path.join(dir, 'cgroup.freeze'), '0');
        await waitFor(() => !frozen(), 'thaw');
      },
      remove: () => removeWhenEmpty([dir]),
    };
  }
  const cpu = path.join(ROOT, 'cpu');
  const memory = path.join(ROOT, 'memory');
  const freezer = path.join(ROOT, 'freezer');
  // cpuacct is its own hierarchy on some hosts, co-mounted with cpu (cpu,cpuacct) on others.
  const cpuacct = existsSync(path.join(cpu, 'cpuacct.usage')) ? cpu : path.join(ROOT, 'cpuacct');
  const hierarchies = [...new Set([cpu, memory, freezer, cpuacct])];
  if (!hierarchies.every((d) => existsSync(path.join(d, 'cgroup.procs')))) return undefined;
  const dirs = hierarchies.map((d) => path.join(d, name));
  for (const d of dirs) mkdirSync(d);
  const [cpuDir, memoryDir, freezerDir] = dirs as [string, string, string];
  const cpuacctDir = path.join(cpuacct, name);
  writeFileSync(path.join(cpuDir, 'cpu.cfs_period_us'), String(PERIOD_US));
  writeFileSync(path.join(cpuDir, 'cpu.cfs_quota_us'), String(quotaUs));
  writeFileSync(path.join(memoryDir, 'memory.limit_in_bytes'), String(memoryBytes));
  const state = () => readFileSync(path.join(freezerDir, 'freezer.state'), 'utf8').trim();
  return {
    dirs,
    cpuMs: () => Number(readFileSync(path.join(cpuacctDir, 'cpuacct.usage'), 'utf8')) / 1e6,
    description: `${vcpu} vCPU (cgroup v1 cpu.cfs_quota_us ${quotaUs}/${PERIOD_US}), memory ${limits.memoryMiB} MiB, v1 freezer`,
    freeze: async () => {
      writeFileSync(path.join(freezerDir, 'freezer.state'), 'FROZEN');
      await waitFor(() => state() === 'FROZEN', 'freeze');
    },
    thaw: async () => {
      writeFileSync(path.join(freezerDir, 'freezer.state'), 'THAWED');
      await waitFor(() => state() === 'THAWED', 'thaw');
    },
    remove: () => removeWhenEmpty(dirs),
  };
}
