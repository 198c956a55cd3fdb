/**
 * A session call's latency, beside a plain execution's: the same program sent to
 * `POST /v1/sessions/{id}/executions` of one session, one call at a time (a session runs its calls
 * in turn), on the same server as the plain runs. The difference is what a session costs a call:
 * the session's record taken and released, its state unsealed before the run and sealed after.
 */
import { performance } from 'node:perf_hooks';
import type { CustodyServer } from './e2e.ts';
import { type LatencySummary, summarize } from './lib/stats.ts';
import type { Workload } from './lib/workloads.ts';

interface SessionCallAnswer {
  status: string;
  stdout: string;
  sequence: number;
}

/** Starts a session, runs `warmUp` then `count` calls of the workload in it, ends it. */
export async function measureSessionCalls(
  server: CustodyServer,
  workload: Workload,
  count: number,
  warmUp: number,
): Promise<LatencySummary> {
  const started = await server.client.send({
    path: '/v1/sessions',
    body: JSON.stringify({ profile: 'sandbox', purpose: 'npm run bench' }),
  });
  if (started.status !== 201) {
    throw new Error(`POST /v1/sessions: HTTP ${started.status}: ${started.body.slice(0, 300)}`);
  }
  const { sessionId } = JSON.parse(started.body) as { sessionId: string };
  const path = `/v1/sessions/${encodeURIComponent(sessionId)}/executions`;
  const body = JSON.stringify({
    language: workload.language,
    code: workload.code,
    ...(workload.files ? { files: workload.files } : {}),
  });
  const call = async () => {
    const response = await server.client.send({ path, body });
    if (response.status !== 200) {
      throw new Error(
        `${workload.name} in a session: HTTP ${response.status}: ${response.body.slice(0, 300)}`,
      );
    }
    const answer = JSON.parse(response.body) as SessionCallAnswer;
    if (answer.status !== 'succeeded' || !answer.stdout.includes(workload.expect)) {
      throw new Error(
        `${workload.name} in a session: ${answer.status}, stdout ${JSON.stringify(answer.stdout.slice(0, 200))}`,
      );
    }
  };
  try {
    for (let i = 0; i < warmUp; i++) await call();
    const latencies: number[] = [];
    const begun = performance.now();
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      await call();
      latencies.push(performance.now() - t0);
    }
    return summarize(latencies, performance.now() - begun);
  } finally {
    await server.client.send({ method: 'DELETE', path: `/v1/sessions/${encodeURIComponent(sessionId)}` });
  }
}
