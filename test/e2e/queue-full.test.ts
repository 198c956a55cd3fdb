/**
 * A full local sandbox queue, as a caller sees it: 429 THROTTLED naming the queue, the run never
 * started, and the refusal in the audit trail like any executor failure. Real server, real SigV4,
 * real store; the sandbox is a stand-in that holds its runs until the test lets them go.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxRequest, SandboxResult } from '../../lambda/core/types.ts';
import { sdkSigned, startTestServer, type TestServer } from './support.ts';

const held: { request: SandboxRequest; release: () => void }[] = [];
const heldSandbox = {
  run: (request: SandboxRequest) =>
    new Promise<SandboxResult>((resolve) => {
      held.push({
        request,
        release: () =>
          resolve({
            status: 'succeeded',
            stdout: request.executionId,
            stderr: '',
            stdoutTruncated: false,
            stderrTruncated: false,
            files: {},
            filesTruncated: false,
            timings: { startMs: 0, runMs: 0 },
          }),
      });
    }),
};

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({
    sandbox: heldSandbox,
    queues: { javascript: { concurrency: 1, maxWaitingPerKey: 1, maxWaiting: 4 } },
  });
});
afterAll(async () => {
  for (const run of held) run.release();
  await t?.stop();
});

const post = () =>
  sdkSigned({
    identity: t.identity('agent'),
    url: `${t.server.url}/v1/executions`,
    body: JSON.stringify({ profile: 'sandbox', language: 'javascript', code: '1' }),
  });

/** Resolves once `ready()` holds, letting the server's I/O run between checks. */
async function until(ready: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !ready(); i += 1) await new Promise((r) => setImmediate(r));
  expect(ready()).toBe(true);
}
const heldCount = (count: number) => until(() => held.length === count);

describe('a full sandbox queue', () => {
  it('refuses the run with 429 THROTTLED, runs nothing, and audits the refusal', async () => {
    const running = post();
    await heldCount(1);
    const waiting = post();
    await until(() => t.server.executor.waiting().javascript === 1);
    const refused = await post();
    expect(refused.status).toBe(429);
    const error = (
      JSON.parse(refused.body) as { error: { code: string; message: string; executionId: string } }
    ).error;
    expect(error.code).toBe('THROTTLED');
    expect(error.message).toMatch(
      /JavaScript and TypeScript queue of this caller is full \(1 executions waiting\)/,
    );
    expect(held).toHaveLength(1);

    const records = await t.server.auditStore.get(error.executionId);
    expect(records.map((r) => r.event).sort()).toEqual(['completed', 'started']);
    expect(records.find((r) => r.event === 'completed')?.outcome).toMatchObject({
      status: 'error',
      errorName: 'THROTTLED',
    });

    held[0]?.release();
    await heldCount(2);
    held[1]?.release();
    expect((await running).status).toBe(200);
    expect((await waiting).status).toBe(200);
  });
});
