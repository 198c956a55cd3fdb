/**
 * One emulated Lambda execution environment: bubblewrap runs Node 22 on the unzipped asset at a
 * read-only /var/task, as a non-root user (uid 993, as Lambda's sbx_user1051), in its own user,
 * PID, IPC, UTS and network namespaces (no network at all), with only a 512 MB /tmp tmpfs
 * writable, a cleared environment (Lambda's variables, no HOME), and the whole process tree frozen
 * between invocations: with cgroups as root (which also apply the CPU share and memory limit of
 * the function's size), else with SIGSTOP/SIGCONT of every process in the tree.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createCgroups, type EnvironmentCgroups } from './cgroup.ts';

export interface EnvironmentOptions {
  /** Folder holding bin/node, mounted at /var/lang. */
  readonly nodeDir: string;
  /** Folder holding index.mjs of the runtime stand-in, mounted at /var/runtime. */
  readonly runtimeDir: string;
  /** The unzipped function code, mounted read-only at /var/task. */
  readonly taskDir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly nodeFlags: readonly string[];
  readonly memoryMiB: number;
  /** /etc/passwd and /etc/group of the sandbox (Lambda's have its user, sbx_user1051). */
  readonly passwdFile: string;
  readonly groupFile: string;
  /** A unique name for the cgroups. */
  readonly name: string;
}

/** CPU time the environment used, in ms, when cgroups measure it. */
interface CpuTime {
  readonly cpuMs?: number;
}

/** From the response to the freeze: how long the registered extensions kept the environment up. */
interface AfterResponse {
  /** Time from the response until every extension had asked for its next event. */
  readonly extensionsWaitMs?: number;
  /** True if an extension had not asked by the cap (the function's timeout). */
  readonly extensionsCapped?: boolean;
  readonly extensions?: readonly string[];
}

/** What the init phase did, from the runtime stand-in. */
export interface InitReport extends AfterResponse {
  /** Runtime start-up and the handler's import (before the extensions' init wait). */
  readonly importMs?: number;
}

export type InvokeOutcome = CpuTime &
  AfterResponse &
  (
    | { readonly ok: true; readonly value: unknown; readonly durationMs: number }
    | {
        readonly ok: false;
        readonly error: { errorType: string; errorMessage: string };
        readonly durationMs: number;
      }
  );

interface Message {
  type: 'ready' | 'init-error' | 'result' | 'idle' | 'probe';
  id?: number;
  initMs?: number;
  importMs?: number;
  extensionsWaitMs?: number;
  extensionsCapped?: boolean;
  waitedMs?: number;
  capped?: boolean;
  extensions?: string[];
  status?: number;
  ok?: boolean;
  value?: unknown;
  error?: { errorType: string; errorMessage: string };
  durationMs?: number;
}

const TMP_BYTES = 512 * 1024 * 1024;
export const SANDBOX_UID = 993;
export const SANDBOX_GID = 990;
const NOBODY = 65534;

/** Mounts of the host's system folders, read-only (symlinks such as /lib -> usr/lib kept). */
function systemMounts(): string[] {
  const args: string[] = ['--ro-bind', '/usr', '/usr', '--ro-bind', '/etc', '/etc'];
  for (const dir of ['/bin', '/sbin', '/lib', '/lib64']) {
    if (!existsSync(dir)) continue;
    if (lstatSync(dir).isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else args.push('--ro-bind', dir, dir);
  }
  return args;
}

/** Every process below `root` (itself included), from /proc. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended while we looked
    }
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** The end of the logs, with lines of minified source (Node prints them above a stack) cut short. */
export function readableLogs(logs: string, maxChars = 3000): string {
  const lines = logs
    .split('\n')
    .map((line) => (line.length > 300 ? `${line.slice(0, 120)}… (${line.length} chars)` : line));
  return lines.join('\n').slice(-maxChars);
}

export class ExecutionEnvironment {
  private child?: ChildProcess;
  private cgroups?: EnvironmentCgroups;
  private readonly waiting = new Map<number, (m: Message) => void>();
  /** Waiting for the `idle` (or `probe`) message that follows a result, by invocation id. */
  private readonly after = new Map<number, (m: Message) => void>();
  private ready?: { resolve: (m: Message) => void; reject: (e: Error) => void };
  private nextId = 1;
  private frozen = false;
  private exited?: string;
  private closed = false;
  /** CPU time of the init phase, in ms, when cgroups measure it. */
  initCpuMs?: number;
  /** The init phase as the runtime stand-in saw it (extensions registered and their wait). */
  init: InitReport = {};
  /** The handler's stdout and stderr (its logs), kept for a failure report. */
  logs = '';

  constructor(private readonly options: EnvironmentOptions) {}

  /** What isolation was applied, for the report. */
  get isolation(): string {
    const share = this.cgroups?.description ?? 'no cgroups (not root): CPU share NOT applied, SIGSTOP freeze';
    return `bwrap uid ${SANDBOX_UID}, no network, ro /var/task, 512 MB /tmp; ${share}`;
  }

  /** Starts the environment; resolves with the init duration (runtime start + handler import). */
  async start(): Promise<number> {
    const o = this.options;
    const bwrap = [
      'bwrap',
      '--unshare-all',
      '--die-with-parent',
      '--new-session',
      '--uid',
      String(SANDBOX_UID),
      '--gid',
      String(SANDBOX_GID),
      '--hostname',
      'localhost',
      ...systemMounts(),
      '--ro-bind',
      o.passwdFile,
      '/etc/passwd',
      '--ro-bind',
      o.groupFile,
      '/etc/group',
      '--proc',
      '/proc',
      '--dev',
      '/dev',
      '--ro-bind',
      o.nodeDir,
      '/var/lang',
      '--ro-bind',
      o.runtimeDir,
      '/var/runtime',
      '--ro-bind',
      o.taskDir,
      '/var/task',
      '--size',
      String(TMP_BYTES),
      '--tmpfs',
      '/tmp',
      '--remount-ro',
      '/',
      '--clearenv',
      ...Object.entries(o.env).flatMap(([k, v]) => ['--setenv', k, v]),
      '--chdir',
      '/var/task',
      '--',
      '/var/lang/bin/node',
      ...o.nodeFlags,
      '/var/runtime/index.mjs',
    ];
    let command: string[] = bwrap;
    if (process.getuid?.() === 0) {
      this.cgroups = createCgroups(o.name, { memoryMiB: o.memoryMiB });
      // Join the cgroups first (children inherit them), then drop root for good before bwrap.
      const join =
        'while [ "$1" != -- ]; do echo $$ > "$1/cgroup.procs" || exit 97; shift; done; shift; exec "$@"';
      command = [
        '/bin/sh',
        '-c',
        join,
        'sh',
        ...(this.cgroups?.dirs ?? []),
        '--',
        'setpriv',
        `--reuid=${NOBODY}`,
        `--regid=${NOBODY}`,
        '--clear-groups',
        ...bwrap,
      ];
    }
    const [file, ...args] = command as [string, ...string[]];
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env: {} });
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => (this.logs += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.logs += d.toString()));
    const messages = createInterface({ input: child.stdio[3] as Readable });
    messages.on('line', (line) => this.onMessage(JSON.parse(line) as Message));
    child.on('exit', (code, signal) => {
      this.exited = `exited (code ${code}, signal ${signal})`;
      const error = new Error(`the environment ${this.exited}; logs:\n${readableLogs(this.logs)}`);
      this.ready?.reject(error);
      for (const settle of this.waiting.values()) {
        settle({
          type: 'result',
          ok: false,
          error: { errorType: 'Runtime.Exited', errorMessage: error.message },
        });
      }
      this.waiting.clear();
      for (const settle of this.after.values()) settle({ type: 'idle' });
      this.after.clear();
    });
    const ready = await new Promise<Message>((resolve, reject) => {
      this.ready = { resolve, reject };
    });
    this.ready = undefined;
    if (ready.type === 'init-error') {
      throw new Error(
        `init failed: ${ready.error?.errorType}: ${ready.error?.errorMessage}\n${readableLogs(this.logs)}`,
      );
    }
    this.init = {
      importMs: ready.importMs,
      extensionsWaitMs: ready.extensionsWaitMs,
      extensionsCapped: ready.extensionsCapped,
      extensions: ready.extensions,
    };
    await this.freeze();
    this.initCpuMs = this.cgroups?.cpuMs();
    return ready.initMs ?? Number.NaN;
  }

  private onMessage(message: Message): void {
    if (message.type === 'idle' || message.type === 'probe') {
      this.after.get(message.id ?? -1)?.(message);
      this.after.delete(message.id ?? -1);
      return;
    }
    if (message.type !== 'result') {
      this.ready?.resolve(message);
      return;
    }
    const settle = this.waiting.get(message.id ?? -1);
    this.waiting.delete(message.id ?? -1);
    settle?.(message);
  }

  /** One invocation: thaw, send, wait (at most `timeoutMs`, the function's timeout), freeze. */
  async invoke(event: unknown, timeoutMs: number): Promise<InvokeOutcome> {
    if (this.exited || !this.child?.stdin)
      throw new Error(`the environment ${this.exited ?? 'is not started'}`);
    const id = this.nextId++;
    const answer = new Promise<Message>((resolve) => this.waiting.set(id, resolve));
    const idle = new Promise<Message>((resolve) => this.after.set(id, resolve));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Message>((resolve) => {
      timer = setTimeout(
        () =>
          resolve({
            type: 'result',
            ok: false,
            error: { errorType: 'Sandbox.Timedout', errorMessage: `Task timed out after ${timeoutMs} ms` },
          }),
        timeoutMs,
      );
    });
    const cpuBefore = this.cgroups?.cpuMs();
    await this.thaw();
    this.child.stdin.write(`${JSON.stringify({ id, event, deadlineMs: Date.now() + timeoutMs })}\n`);
    const message = await Promise.race([answer, timeout]);
    clearTimeout(timer);
    this.waiting.delete(id);
    // Lambda does not reuse an environment whose invocation timed out: it is shut down.
    let afterResponse: AfterResponse = {};
    if (message.error?.errorType === 'Sandbox.Timedout') await this.close();
    else if (!this.exited) {
      // The response is out; Lambda freezes once every registered extension is done too (the
      // stand-in caps that wait at the invocation's deadline).
      const done = await idle;
      afterResponse = {
        extensionsWaitMs: done.waitedMs,
        extensionsCapped: done.capped,
        extensions: done.extensions,
      };
      await this.freeze();
    }
    this.after.delete(id);
    const durationMs = message.durationMs ?? Number.NaN;
    const cpuAfter = this.closed ? undefined : this.cgroups?.cpuMs();
    const cpu = cpuBefore !== undefined && cpuAfter !== undefined ? { cpuMs: cpuAfter - cpuBefore } : {};
    return message.ok
      ? { ok: true, value: message.value, durationMs, ...cpu, ...afterResponse }
      : {
          ok: false,
          error: message.error ?? { errorType: 'Unknown', errorMessage: '' },
          durationMs,
          ...cpu,
          ...afterResponse,
        };
  }

  /**
   * Registers an extension from inside the environment now (after init): the HTTP status the
   * Extensions API answers (Lambda refuses registration after init).
   */
  async probeRegistration(): Promise<number | undefined> {
    if (this.exited || !this.child?.stdin)
      throw new Error(`the environment ${this.exited ?? 'is not started'}`);
    const id = this.nextId++;
    const answer = new Promise<Message>((resolve) => this.after.set(id, resolve));
    await this.thaw();
    this.child.stdin.write(`${JSON.stringify({ id, probe: 'register' })}\n`);
    const message = await answer;
    await this.freeze();
    return message.status;
  }

  async freeze(): Promise<void> {
    if (this.frozen || !this.child?.pid || this.exited) return;
    if (this.cgroups) await this.cgroups.freeze();
    else for (const pid of processTree(this.child.pid)) process.kill(pid, 'SIGSTOP');
    this.frozen = true;
  }

  async thaw(): Promise<void> {
    if (!this.frozen || !this.child?.pid) return;
    if (this.cgroups) await this.cgroups.thaw();
    else for (const pid of processTree(this.child.pid)) process.kill(pid, 'SIGCONT');
    this.frozen = false;
  }

  /** Ends the environment and removes its cgroups. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const child = this.child;
    if (child && !this.exited) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await this.thaw();
      child.stdin?.end();
      child.kill('SIGKILL');
      await exited;
    }
    await this.cgroups?.remove();
  }
}
