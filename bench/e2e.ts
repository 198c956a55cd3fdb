/**
 * custody local, end to end: `bin/local.ts` (what `npm start` runs) in its own process with a
 * temporary CUSTODY_HOME, called over loopback by the benchmark's signed client. Every measured
 * request goes the whole way: SigV4 check -> policy decision -> scoped session -> sandbox -> audit
 * (dynalite + audit log) -> response; a run counts only if it answered 200 with the expected output.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseCredentialsFile } from '../lambda/adapters/local/identities.ts';
import { ROOT } from './floor.ts';
import {
  descendantsRssMiB,
  peakSampler,
  procStatusMiB,
  resetPeakRss,
  spawnTracked,
  stopTracked,
  waitForLine,
} from './lib/processes.ts';
import { type SignedClient, type SigningKey, signedClient } from './lib/signed-client.ts';
import { type LatencySummary, runAtConcurrency, summarize } from './lib/stats.ts';
import type { Workload } from './lib/workloads.ts';

export interface CustodyServer {
  readonly url: string;
  readonly pid: number;
  readonly home: string;
  readonly keys: Record<string, SigningKey>;
  readonly client: SignedClient;
  stop(): Promise<void>;
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('AWS_') && !k.startsWith('CUSTODY_')) env[k] = v;
  }
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

export async function startCustodyServer(): Promise<CustodyServer> {
  const home = mkdtempSync(join(tmpdir(), 'custody-bench-home-'));
  const child: ChildProcess = spawnTracked(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bin/local.ts')],
    {
      cwd: ROOT,
      env: { ...cleanEnv(), CUSTODY_HOME: home, CUSTODY_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  try {
    const [, url] = await waitForLine(child, /signed API on (http:\/\/127\.0\.0\.1:\d+)/, 60_000);
    const sections = parseCredentialsFile(readFileSync(join(home, 'credentials'), 'utf8'), 'credentials');
    const keys: Record<string, SigningKey> = {};
    for (const [profile, values] of sections) {
      const accessKeyId = values.get('aws_access_key_id');
      const secretAccessKey = values.get('aws_secret_access_key');
      const sessionToken = values.get('aws_session_token');
      if (accessKeyId && secretAccessKey)
        keys[profile] = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
    }
    const agent = keys.agent;
    if (!agent) throw new Error('the local server wrote no key for the agent principal');
    const client = signedClient({ baseUrl: url as string, key: agent, maxSockets: 64 });
    // Drain the child's output so a chatty server never blocks on a full pipe.
    child.stdout?.resume();
    child.stderr?.resume();
    return {
      url: url as string,
      pid: child.pid as number,
      home,
      keys,
      client,
      async stop() {
        client.close();
        await stopTracked(child, 'SIGTERM', 10_000);
        rmSync(home, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopTracked(child, 'SIGKILL', 1_000);
    rmSync(home, { recursive: true, force: true });
    throw error;
  }
}

export function executionBody(workload: Workload): string {
  return JSON.stringify({
    profile: 'sandbox',
    language: workload.language,
    code: workload.code,
    ...(workload.files ? { files: workload.files } : {}),
  });
}

interface ExecutionAnswer {
  executionId: string;
  status: string;
  stdout: string;
}

/** One execution; throws unless it answered 200, succeeded and printed what the workload expects. */
export async function execute(client: SignedClient, workload: Workload, body: string): Promise<string> {
  const response = await client.send({ path: '/v1/executions', body });
  if (response.status !== 200)
    throw new Error(`${workload.name}: HTTP ${response.status}: ${response.body.slice(0, 300)}`);
  const answer = JSON.parse(response.body) as ExecutionAnswer;
  if (answer.status !== 'succeeded' || !answer.stdout.includes(workload.expect)) {
    throw new Error(
      `${workload.name}: ${answer.status}, stdout ${JSON.stringify(answer.stdout.slice(0, 200))}`,
    );
  }
  return answer.executionId;
}

export interface E2eFigures {
  /** concurrency -> latency summary */
  readonly byConcurrency: Record<string, LatencySummary>;
  /** Median server-side phase timings (ms) of the concurrency-1 runs, from their audit records. */
  readonly phasesP50Ms: Record<string, number>;
}

/** Runs a workload at each concurrency with fixed sample counts (after a warm-up). */
export async function measureWorkload(
  server: CustodyServer,
  workload: Workload,
  samples: Record<number, number>,
  warmUp: number,
  onConcurrency?: (concurrency: number, phase: 'before' | 'after') => void,
): Promise<E2eFigures> {
  const body = executionBody(workload);
  for (let i = 0; i < warmUp; i++) await execute(server.client, workload, body);
  const byConcurrency: Record<string, LatencySummary> = {};
  let sequentialIds: string[] = [];
  for (const [concurrency, count] of Object.entries(samples)) {
    onConcurrency?.(Number(concurrency), 'before');
    const ids: string[] = [];
    const run = await runAtConcurrency(count, Number(concurrency), async () => {
      ids.push(await execute(server.client, workload, body));
    });
    onConcurrency?.(Number(concurrency), 'after');
    byConcurrency[concurrency] = summarize(run.latenciesMs, run.wallMs);
    if (concurrency === '1') sequentialIds = ids;
  }
  return { byConcurrency, phasesP50Ms: await phaseMedians(server, sequentialIds.slice(0, 25)) };
}

/** Median of each phase in the `completed` audit records of these executions (read over the API). */
async function phaseMedians(server: CustodyServer, ids: readonly string[]): Promise<Record<string, number>> {
  const phases = new Map<string, number[]>();
  for (const id of ids) {
    const response = await server.client.send({ path: `/v1/executions/${id}` });
    if (response.status !== 200) continue;
    const { records } = JSON.parse(response.body) as {
      records: { event: string; timingsMs?: Record<string, number> }[];
    };
    const completed = records.find((r) => r.event === 'completed');
    for (const [phase, ms] of Object.entries(completed?.timingsMs ?? {})) {
      phases.set(phase, [...(phases.get(phase) ?? []), ms]);
    }
  }
  const out: Record<string, number> = {};
  for (const [phase, values] of phases) {
    values.sort((a, b) => a - b);
    out[phase] = Math.round((values[Math.floor(values.length / 2)] ?? 0) * 100) / 100;
  }
  return out;
}

/** Sequential runs with `pauseMs` of idle time before each (not counted): a caller that thinks between runs. */
export async function measurePaced(
  server: CustodyServer,
  workload: Workload,
  count: number,
  pauseMs: number,
): Promise<LatencySummary> {
  const body = executionBody(workload);
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    const started = performance.now();
    await execute(server.client, workload, body);
    latencies.push(performance.now() - started);
  }
  const sum = latencies.reduce((a, b) => a + b, 0);
  return summarize(latencies, sum);
}

export interface MemoryFigures {
  /** The server process's peak RSS (VmHWM) over the concurrency-32 runs, MiB. */
  readonly serverPeakRssMiB: number | undefined;
  /** Its RSS before those runs, MiB. */
  readonly serverRssBeforeMiB: number | undefined;
  /** Peak of the summed RSS of its child processes (Python hosts), sampled every 100 ms, MiB. */
  readonly childrenPeakRssMiB: number;
  readonly method: string;
}

/** Tracks the server's memory across every concurrency-32 run. */
export function concurrency32Memory(pid: number): {
  hook: (concurrency: number, phase: 'before' | 'after') => void;
  result: () => MemoryFigures;
} {
  let before: number | undefined;
  let peak: number | undefined;
  let childrenPeak = 0;
  let sampler: { stop(): number } | undefined;
  let resetWorked = true;
  return {
    hook(concurrency, phase) {
      if (concurrency !== 32) return;
      if (phase === 'before') {
        before ??= procStatusMiB(pid, 'VmRSS');
        resetWorked = resetPeakRss(pid) && resetWorked;
        sampler = peakSampler(() => descendantsRssMiB(pid), 100);
      } else {
        childrenPeak = Math.max(childrenPeak, sampler?.stop() ?? 0);
        const hwm = procStatusMiB(pid, 'VmHWM');
        if (hwm !== undefined) peak = Math.max(peak ?? 0, hwm);
      }
    },
    result: () => ({
      serverPeakRssMiB: peak,
      serverRssBeforeMiB: before,
      childrenPeakRssMiB: Math.round(childrenPeak * 10) / 10,
      method: resetWorked
        ? 'server as a child process (bin/local.ts); VmHWM of /proc/<pid>/status, reset (clear_refs 5) before each concurrency-32 run, read after; Python host processes summed separately'
        : 'server as a child process (bin/local.ts); VmHWM of /proc/<pid>/status read after each concurrency-32 run (peak since start: clear_refs was refused); Python host processes summed separately',
    }),
  };
}
