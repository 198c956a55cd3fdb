/**
 * The Deno processes that host Pyodide: the flags and environment they run with, one process
 * taking one job, and the one-off process that builds Pyodide's memory snapshot.
 *
 * Every process may only read the runtime files it is named; every other permission is denied.
 * Its environment holds nothing of the host's; it runs in its own process group, killed as a whole.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { CappedText } from './capped-text.ts';
import { LineSplitter } from './line-splitter.ts';
import { type HostMessage, type KillReason, messageSchema } from './python-host-protocol.ts';
import { SNAPSHOT_MAX_BYTES } from './python-snapshot-cache.ts';
import { stateGlueArgs } from './python-state.ts';
import type { NeutralLinks } from './python-work-dir.ts';
import type { RuntimeFiles } from './runtime-files.ts';

/** JS heap a Deno host needs besides the Python heap (Pyodide's own JS objects), in MiB. */
export const HOST_HEAP_MIB = 192;

/**
 * `deno run` flags of every Python host process: read access to the runtime files named, and
 * every other permission explicitly denied (so no prompt, no config and no flag can widen it).
 */
export function denoRunArgs(readablePaths: readonly string[]): string[] {
  return [
    'run',
    '--no-prompt',
    '--no-code-cache',
    '--no-config',
    '--no-lock',
    '--no-remote',
    '--no-npm',
    '--cached-only',
    `--allow-read=${readablePaths.join(',')}`,
    '--deny-write',
    '--deny-net',
    '--deny-env',
    '--deny-run',
    '--deny-ffi',
    '--deny-sys',
    '--deny-import',
  ];
}

/**
 * Nothing of the host's environment. DENO_DIR names a path Deno can never create (see
 * `PythonSandbox`): it then keeps its caches in memory, and a run can leave nothing on disk.
 */
export function denoEnv(denoDir: string): NodeJS.ProcessEnv {
  return { DENO_DIR: denoDir, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' };
}

/** One Deno process: loads Pyodide, takes one job, exits. */
export class HostProcess {
  readonly ready: Promise<void>;
  /** Settles once the process has exited and its output is all read. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private listener: ((message: HostMessage) => void) | undefined;
  private protocolBytes = 0;
  private protocolCapBytes = 64 * 1024;
  private readonly lines = new LineSplitter();
  private diagnostics = new CappedText(16 * 1024);
  killedFor: KillReason | undefined;

  constructor(
    denoPath: string,
    links: NeutralLinks,
    readonly memoryMiB: number,
  ) {
    const readable = [
      links.pyodideDir,
      links.hostScript,
      ...(links.snapshot ? [links.snapshot] : []),
      ...(links.pythonPackagesDir ? [links.pythonPackagesDir] : []),
    ];
    this.child = spawn(
      denoPath,
      [
        ...denoRunArgs(readable),
        `--v8-flags=--max-old-space-size=${HOST_HEAP_MIB + memoryMiB}`,
        links.hostScript,
        'serve',
        links.pyodideDir,
        links.snapshot ?? '',
        links.pythonPackagesDir ?? '',
      ],
      {
        env: denoEnv(links.denoDir),
        cwd: links.dir,
        stdio: ['pipe', 'pipe', 'pipe'],
        argv0: 'deno', // node:process reports it: not the binary's host path
        detached: true, // its own process group, killed as a whole
      },
    );
    // 'close', not 'exit': 'exit' can come before the last of stdout has been read, and with it
    // the result line (seen under load: "ended (code 0) before reporting a result"). 'close' comes
    // once the process has exited and its pipes are drained. Nothing else can hold them open: the
    // code may not start processes, and the deadline kills the whole group.
    this.exited = once(this.child, 'close').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
    }));
    this.child.stdin.on('error', () => undefined); // a process that died before its job
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => this.diagnostics.append(chunk));
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => this.receive(chunk));
    this.ready = new Promise<void>((resolve, reject) => {
      this.listener = (message) => {
        if (message.t === 'ready') resolve();
      };
      this.exited.then(({ code, signal }) =>
        reject(
          new Error(
            `the Python host exited (code ${code}, signal ${signal}) before it was ready: ${this.diagnostics.toString().slice(0, 2000)}`,
          ),
        ),
      );
    });
    this.ready.catch(() => undefined);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get stderrText(): string {
    return this.diagnostics.toString();
  }

  /** Sends the one job and routes the process's messages to `onMessage` from now on. */
  start(job: unknown, protocolCapBytes: number, onMessage: (message: HostMessage) => void): void {
    this.protocolCapBytes = protocolCapBytes;
    this.protocolBytes = 0;
    this.listener = onMessage;
    this.child.stdin.end(`${JSON.stringify(job)}\n`);
  }

  kill(reason: KillReason): void {
    this.killedFor ??= reason;
    const pid = this.child.pid;
    if (pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
  }

  private receive(chunk: string): void {
    this.protocolBytes += chunk.length;
    if (this.protocolBytes > this.protocolCapBytes) {
      this.kill('protocol');
      return;
    }
    for (const line of this.lines.push(chunk)) {
      if (line === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        continue; // not ours (the code can write to this pipe through the bridge); ignored
      }
      const message = messageSchema.safeParse(parsed);
      if (message.success) this.listener?.(message.data);
    }
  }
}

/**
 * Runs the host in snapshot mode (same permissions as an execution) and returns the snapshot bytes.
 * `signal` kills the build (the sandbox closed while it ran).
 */
export async function buildSnapshot(
  files: RuntimeFiles,
  denoDir: string,
  signal?: AbortSignal,
): Promise<Buffer> {
  const child = spawn(
    files.denoPath,
    [
      ...denoRunArgs([files.pyodideDir, files.hostScriptPath]),
      files.hostScriptPath,
      'snapshot',
      files.pyodideDir,
      ...stateGlueArgs(),
    ],
    {
      env: denoEnv(denoDir),
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(signal ? { signal, killSignal: 'SIGKILL' as const } : {}),
    },
  );
  const chunks: Buffer[] = [];
  let size = 0;
  const diagnostics = new CappedText(16 * 1024);
  child.stdout.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > SNAPSHOT_MAX_BYTES) child.kill('SIGKILL');
    else chunks.push(chunk);
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => diagnostics.append(chunk));
  const [code] = (await once(child, 'close')) as [number | null]; // all of stdout read, as above
  if (code !== 0 || size === 0 || size > SNAPSHOT_MAX_BYTES) {
    throw new Error(`deno exited with code ${code}: ${diagnostics.toString().slice(0, 2000)}`);
  }
  return Buffer.concat(chunks);
}

/** Resident set size of a process (Linux /proc), or undefined where it cannot be read. */
export function residentBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
