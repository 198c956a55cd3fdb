/**
 * The audit store stopped mid-run: a loopback switch in front of a real dynalite closes its port
 * (connections refused, open ones cut) while executions stream in, then opens it again. While it
 * is down, executions are refused with 503 and none of them reaches the sandbox; every execution
 * that did run has its `started` record in the store; service resumes when the store returns.
 */

import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignedClient } from '../../bench/lib/signed-client.ts';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import { type RunningDynalite, startDynalite } from '../support/dynalite.ts';
import { executionIdOf, type LoadServer, pool, startLoadServer } from './support.ts';

/** A TCP switch on a fixed loopback port: `down()` refuses and cuts connections, `up()` restores them. */
class PortSwitch {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly targetPort: number) {}

  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

interface Answer {
  readonly marker: string;
  readonly status: number;
  readonly body: string;
  readonly executionId: string | undefined;
  readonly phase: 'up' | 'down' | 'back';
}

let db: RunningDynalite;
let port: PortSwitch;
let load: LoadServer;
let agent: SignedClient;
let counter = 0;

async function run(
  phase: () => Answer['phase'],
  language: 'javascript' | 'python' = 'javascript',
): Promise<Answer> {
  const marker = `run-${++counter}`;
  const at = phase();
  // The long run is Python: its own process sleeps while the server (in this process) stays responsive.
  const code =
    language === 'python' ? `import time\ntime.sleep(1.5)\nprint("${marker}")` : `console.log("${marker}")`;
  const response = await agent.send({
    path: '/v1/executions',
    body: JSON.stringify({ profile: 'sandbox', language, code }),
  });
  return {
    marker,
    status: response.status,
    body: response.body,
    executionId: executionIdOf(response.body),
    phase: at,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  db = await startDynalite({ createTable: false });
  port = new PortSwitch(Number(new URL(db.endpoint).port));
  await port.up();
  load = await startLoadServer({ dynamodbEndpoint: `http://127.0.0.1:${port.port}` });
  agent = load.client('agent');
}, 180_000);

afterAll(async () => {
  await port?.up().catch(() => undefined);
  await load?.stop();
  await port?.down();
  await db?.stop();
});

describe('the audit store stopped mid-run', () => {
  const answers: Answer[] = [];

  let inFlightAtCut: Answer | undefined;

  it('refuses executions with 503 while the store is down, and serves again when it returns', async () => {
    let phase: Answer['phase'] = 'up';
    const wanted = { up: 16, down: 12, back: 16 };
    const seen = { up: 0, down: 0, back: 0 };
    const deadline = Date.now() + 240_000;
    let stop = false;
    // Eight callers stream executions through every phase.
    const callers = pool(8, 8, async () => {
      while (!stop && Date.now() < deadline) {
        const answer = await run(() => phase);
        answers.push(answer);
        seen[answer.phase] += 1;
      }
    });
    // One long execution is inside the sandbox when the store goes away.
    let slowAnswered = false;
    const slow = run(() => phase, 'python').finally(() => {
      slowAnswered = true;
    });
    const until = async (condition: () => boolean) => {
      while (!condition() && Date.now() < deadline) await sleep(5);
    };
    await until(
      () => seen.up >= wanted.up && [...load.sandboxRuns.values()].some((r) => r.language === 'python'),
    );
    phase = 'down';
    await port.down();
    const ranBeforeCut = new Set(load.sandboxRuns.keys());
    // Down until the long execution has finished and answered, so its completed record meets the outage.
    await until(() => seen.down >= wanted.down && slowAnswered);
    const ranBeforeReopen = new Set(load.sandboxRuns.keys());
    phase = 'back';
    await port.up();
    await until(() => seen.back >= wanted.back);
    stop = true;
    await callers;
    inFlightAtCut = await slow;
    answers.push(inFlightAtCut);
    expect(seen.back).toBeGreaterThanOrEqual(wanted.back);

    expect(
      answers.filter((a) => a.status !== 200 && a.status !== 503).map((a) => `${a.status} ${a.body}`),
    ).toEqual([]);
    // Nothing reached the sandbox while the port was closed unless its started record was already
    // stored: a request can pass its started write just before the cut and reach the sandbox just
    // after it. The store took no write between the cut and the reopening, so a stored started
    // record of a run that happened before the reopening was written before the cut.
    const ranDuringOutage = [...ranBeforeReopen].filter((id) => !ranBeforeCut.has(id));
    expect(ranDuringOutage.length).toBeLessThanOrEqual(8); // at most one per caller in flight at the cut
    const startedStored = new Set(
      (await load.allRecords()).filter((r) => r.event === 'started').map((r) => r.executionId),
    );
    expect(ranDuringOutage.filter((id) => !startedStored.has(id))).toEqual([]);
    // Sent while the port was closed: refused, unless the store came back within the broker's retries.
    expect(answers.filter((a) => a.phase === 'down' && a.status === 503).length).toBeGreaterThanOrEqual(
      wanted.down - 4,
    );
    const refused = answers.filter((a) => a.status === 503);
    expect(refused.length).toBeGreaterThanOrEqual(wanted.down);
    for (const a of refused) {
      expect(JSON.parse(a.body)).toMatchObject({ error: { code: 'DEPENDENCY_UNAVAILABLE' } });
    }
    // Service resumed: the last answers, well after the port reopened, are all 200.
    const lastBack = answers.filter((a) => a.phase === 'back').slice(-8);
    expect(lastBack.map((a) => a.status)).toEqual(new Array(lastBack.length).fill(200));
  }, 300_000);

  it('answers the execution that was running at the cut, saying its completed record is pending', () => {
    expect(inFlightAtCut?.status).toBe(200);
    expect(JSON.parse(inFlightAtCut?.body ?? '{}')).toMatchObject({
      status: 'succeeded',
      auditPending: true,
    });
  });

  it('ran nothing it refused: no refused execution reached the sandbox', () => {
    const ranMarkers = new Set([...load.sandboxRuns.values()].map((r) => /"(run-\d+)"/.exec(r.code)?.[1]));
    const refused = answers.filter((a) => a.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.filter((a) => ranMarkers.has(a.marker)).map((a) => a.marker)).toEqual([]);
    // And everything that reached the sandbox was answered 200.
    const answeredOk = new Set(answers.filter((a) => a.status === 200).map((a) => a.executionId));
    expect([...load.sandboxRuns.keys()].filter((id) => !answeredOk.has(id))).toEqual([]);
  });

  it('stored a started record before every execution that ran, and accounts for every 200', async () => {
    const records = await load.allRecords();
    const stored = new Set(records.map((r) => `${r.executionId}/${r.event}`));
    const unaudited = [...load.sandboxRuns.keys()].filter((id) => !stored.has(`${id}/started`));
    expect(unaudited).toEqual([]);
    // A 200 whose completed record the store could not take says so, and the audit log holds it.
    const logged = new Set(
      (await load.server.auditLog.readLines())
        .filter((line) => !line.includes('"auditDigest"'))
        .map((line) => JSON.parse(line) as AuditRecord)
        .map((r) => `${r.executionId}/${r.event}`),
    );
    const missing = answers
      .filter((a) => a.status === 200)
      .filter((a) => {
        const key = `${a.executionId}/completed`;
        if (stored.has(key)) return false;
        return !((JSON.parse(a.body) as { auditPending?: boolean }).auditPending === true && logged.has(key));
      });
    expect(missing).toEqual([]);
  });

  it('verifies the trail after the store came back', async () => {
    const result = await load.digestAndVerify();
    expect(result.ok).toBe(true);
  }, 120_000);
});
