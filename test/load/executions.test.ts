/**
 * 2,000 executions at concurrency 32 through the local API (real SigV4 edge, broker, sandboxes,
 * dynalite and audit log), mixing languages and outcomes: succeed, fail, time out, and be denied.
 * Afterwards the audit trail must account for every one exactly once, nothing may have run without
 * an answer, and the trail must verify against signed digests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignedClient } from '../../bench/lib/signed-client.ts';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import { executionIdOf, type LoadServer, pool, startLoadServer } from './support.ts';

const TOTAL = 2_000;
const CONCURRENCY = 32;

type Expected =
  | { kind: 'ran'; status: 'succeeded' | 'failed' | 'timed_out'; stdout?: string }
  | { kind: 'refused'; httpStatus: 400 | 403; code: string };

interface Case {
  readonly principal: 'agent' | 'stranger';
  readonly body: string;
  readonly expected: Expected;
}

/** The i-th execution of the mix: mostly JavaScript, some TypeScript and Python, every outcome. */
function caseOf(i: number): Case {
  const slot = i % 50;
  const run = (language: string, code: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ profile: 'sandbox', language, code, purpose: `load ${i}`, ...extra });
  if (slot < 28) {
    return {
      principal: 'agent',
      body: run('javascript', `console.log("js ${i}")`),
      expected: { kind: 'ran', status: 'succeeded', stdout: `js ${i}\n` },
    };
  }
  if (slot < 33) {
    return {
      principal: 'agent',
      body: run('typescript', `const n: number = ${i};\nconsole.log(\`ts \${n}\`)`),
      expected: { kind: 'ran', status: 'succeeded', stdout: `ts ${i}\n` },
    };
  }
  if (slot < 37) {
    return {
      principal: 'agent',
      body: run('javascript', `throw new Error("boom ${i}")`),
      expected: { kind: 'ran', status: 'failed' },
    };
  }
  if (slot < 39) {
    return {
      principal: 'agent',
      body: run('javascript', 'while (true) {}', { timeoutMs: 100 }),
      expected: { kind: 'ran', status: 'timed_out' },
    };
  }
  if (slot < 43) {
    return {
      principal: 'stranger',
      body: run('javascript', `console.log(${i})`),
      expected: { kind: 'refused', httpStatus: 403, code: 'NO_GRANT' },
    };
  }
  if (slot < 45) {
    return {
      principal: 'agent',
      body: JSON.stringify({
        profile: 'remediation',
        language: 'javascript',
        code: `console.log(process.env, ${i})`,
      }),
      expected: { kind: 'refused', httpStatus: 403, code: 'CODE_NOT_APPROVED' },
    };
  }
  if (slot === 45) {
    return {
      principal: 'agent',
      body: JSON.stringify({ profile: 'sandbox', language: 'javascript' }),
      expected: { kind: 'refused', httpStatus: 400, code: 'INVALID_REQUEST' },
    };
  }
  if (slot === 46) {
    return {
      principal: 'agent',
      body: run('python', `print("py", ${i})`),
      expected: { kind: 'ran', status: 'succeeded', stdout: `py ${i}\n` },
    };
  }
  if (slot === 47) {
    return {
      principal: 'agent',
      body: run('python', `raise ValueError("bad ${i}")`),
      expected: { kind: 'ran', status: 'failed' },
    };
  }
  if (slot === 48 && i < 500) {
    return {
      principal: 'agent',
      body: run('python', 'while True:\n    pass', { timeoutMs: 300 }),
      expected: { kind: 'ran', status: 'timed_out' },
    };
  }
  return {
    principal: 'agent',
    body: run('javascript', `console.log(files.read("in.txt").length, ${i})`, {
      files: { 'in.txt': 'x'.repeat(1000) },
    }),
    expected: { kind: 'ran', status: 'succeeded', stdout: `1000 ${i}\n` },
  };
}

interface Outcome {
  readonly index: number;
  readonly httpStatus: number;
  readonly body: string;
  readonly executionId: string | undefined;
}

let load: LoadServer;
let outcomes: Outcome[];
let records: AuditRecord[];

beforeAll(async () => {
  load = await startLoadServer();
  const clients: Record<string, SignedClient> = {
    agent: load.client('agent'),
    stranger: load.client('stranger'),
  };
  outcomes = await pool(TOTAL, CONCURRENCY, async (index) => {
    const c = caseOf(index);
    const response = await (clients[c.principal] as SignedClient).send({
      path: '/v1/executions',
      body: c.body,
    });
    return {
      index,
      httpStatus: response.status,
      body: response.body,
      executionId: executionIdOf(response.body),
    };
  });
  records = await load.allRecords();
}, 600_000);

afterAll(async () => {
  await load?.stop();
});

describe(`${TOTAL} executions at concurrency ${CONCURRENCY} through the local API`, () => {
  it('answers every one as the mix expects, and never with a 5xx', () => {
    const wrong: string[] = [];
    for (const o of outcomes) {
      const expected = caseOf(o.index).expected;
      if (expected.kind === 'ran') {
        const body =
          o.httpStatus === 200 ? (JSON.parse(o.body) as { status: string; stdout: string }) : undefined;
        if (
          !body ||
          body.status !== expected.status ||
          (expected.stdout !== undefined && body.stdout !== expected.stdout)
        ) {
          wrong.push(`#${o.index}: expected ${expected.status}, got ${o.httpStatus} ${o.body.slice(0, 200)}`);
        }
      } else {
        const code = (JSON.parse(o.body) as { error?: { code?: string } }).error?.code;
        if (o.httpStatus !== expected.httpStatus || code !== expected.code) {
          wrong.push(
            `#${o.index}: expected ${expected.httpStatus} ${expected.code}, got ${o.httpStatus} ${o.body.slice(0, 200)}`,
          );
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(outcomes.filter((o) => o.httpStatus >= 500)).toEqual([]);
    expect(outcomes).toHaveLength(TOTAL);
  });

  it('leaves exactly one started and one completed record for every 2xx, with the status it answered', () => {
    const byId = new Map<string, AuditRecord[]>();
    for (const r of records) byId.set(r.executionId, [...(byId.get(r.executionId) ?? []), r]);
    const ran = outcomes.filter((o) => o.httpStatus === 200);
    expect(ran.length).toBeGreaterThan(1_500);
    const problems: string[] = [];
    for (const o of ran) {
      const events = (byId.get(o.executionId as string) ?? []).map((r) => r.event).sort();
      if (events.join(',') !== 'completed,started')
        problems.push(`${o.executionId}: ${events.join(',') || 'no record'}`);
      const completed = byId.get(o.executionId as string)?.find((r) => r.event === 'completed');
      const answered = (JSON.parse(o.body) as { status: string }).status;
      if (completed?.outcome?.status !== answered)
        problems.push(`${o.executionId}: answered ${answered}, recorded ${completed?.outcome?.status}`);
    }
    expect(problems).toEqual([]);
  });

  it('leaves exactly one denied record for every denial, and nothing else for it', () => {
    const refused = outcomes.filter((o) => o.httpStatus === 400 || o.httpStatus === 403);
    expect(refused.length).toBeGreaterThan(200);
    const problems: string[] = [];
    for (const o of refused) {
      if (!o.executionId) {
        problems.push(`#${o.index}: refusal without an execution id: ${o.body.slice(0, 200)}`);
        continue;
      }
      const mine = records.filter((r) => r.executionId === o.executionId);
      if (mine.length !== 1 || mine[0]?.event !== 'denied' || mine[0]?.decision.allowed !== false) {
        problems.push(`${o.executionId}: ${mine.map((r) => r.event).join(',') || 'no record'}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('holds no duplicated record and no record of an execution nobody was answered about', () => {
    const keys = records.map((r) => `${r.executionId}/${r.event}`);
    expect(new Set(keys).size).toBe(keys.length);
    const answered = new Set(outcomes.map((o) => o.executionId));
    expect(records.filter((r) => !answered.has(r.executionId)).map((r) => r.executionId)).toEqual([]);
    const ran = outcomes.filter((o) => o.httpStatus === 200).length;
    expect(records).toHaveLength(2 * ran + (TOTAL - ran));
  });

  it('writes every record to the audit log exactly once too', async () => {
    const lines = await load.server.auditLog.readLines();
    const logged = lines
      .filter((line) => !line.includes('"auditDigest"'))
      .map((line) => JSON.parse(line) as AuditRecord)
      .map((r) => `${r.executionId}/${r.event}`);
    expect(new Set(logged).size).toBe(logged.length);
    expect(new Set(logged)).toEqual(new Set(records.map((r) => `${r.executionId}/${r.event}`)));
  });

  it('ran in the sandbox exactly the executions it answered with a 2xx, and none it refused', () => {
    const answered = outcomes.filter((o) => o.httpStatus === 200).map((o) => o.executionId as string);
    expect([...load.sandboxRuns.keys()].sort()).toEqual([...answered].sort());
  });

  it('verifies the whole trail against signed digests afterwards', async () => {
    const result = await load.digestAndVerify();
    expect(result).toMatchObject({ ok: true, records: records.length, uncovered: 0 });
  }, 120_000);
});
