import { describe, expect, it } from 'vitest';
import { profilesResponseSchema } from '../../lambda/core/api-schema.ts';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import { parsePolicy } from '../../lambda/core/policy.ts';
import {
  body,
  brokerFixture,
  callers,
  errorOf,
  policyDocument,
  post,
  REPORT_SECRET_ARN,
  run,
} from './fixture.ts';

describe('GET /v1/executions/{id}', () => {
  async function ranByAgent() {
    const f = brokerFixture();
    await f.api.handle(post(callers.agent, run));
    return f;
  }
  const get = (caller: (typeof callers)[keyof typeof callers], id = '01HZX3K7R8M9N0P1Q2R3S4T000') => ({
    method: 'GET',
    path: `/v1/executions/${id}`,
    body: null,
    caller,
  });

  it.each([
    ['the caller that ran it', callers.agent],
    ['another session of the same role', callers.agentOtherSession],
    ['an auditor', callers.auditor],
  ])('shows the records to %s', async (_l, caller) => {
    const f = await ranByAgent();
    const res = await f.api.handle(get(caller));
    expect(res.statusCode).toBe(200);
    expect(body<{ records: AuditRecord[] }>(res).records.map((r) => r.event)).toEqual([
      'started',
      'completed',
    ]);
  });

  it.each([
    ['another principal', callers.other],
    ['an unknown caller', callers.foreign],
  ])('answers 404, not 403, to %s', async (_l, caller) => {
    const f = await ranByAgent();
    const res = await f.api.handle(get(caller));
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).code).toBe('NOT_FOUND');
  });

  it('answers 404 for an execution that does not exist', async () => {
    const f = await ranByAgent();
    expect((await f.api.handle(get(callers.auditor, '01HZX3K7R8M9N0P1Q2R3S4T999'))).statusCode).toBe(404);
  });

  it('answers 503 when the audit store cannot be read', async () => {
    const f = await ranByAgent();
    f.store.failGets = true;
    expect((await f.api.handle(get(callers.agent))).statusCode).toBe(503);
  });
});

describe('GET /v1/profiles', () => {
  const list = (caller: (typeof callers)[keyof typeof callers]) => ({
    method: 'GET',
    path: '/v1/profiles',
    body: null,
    caller,
  });

  it('lists the profiles the caller may use now, with secret variable names only', async () => {
    const f = brokerFixture();
    const res = await f.api.handle(list(callers.agent));
    const { profiles } = body<{ profiles: { name: string; secretVariables: string[] }[] }>(res);
    expect(profiles.map((p) => p.name)).toEqual(['sandbox', 'reports']);
    expect(profiles[1]).toMatchObject({
      name: 'reports',
      languages: ['python', 'javascript'],
      limits: { timeoutMs: 30_000, memoryMiB: 1024, maxCodeBytes: 65_536, maxOutputBytes: 1_048_576 },
      secretVariables: ['REPORT_API_TOKEN'],
    });
    expect(res.body).not.toContain(REPORT_SECRET_ARN);
    expect(res.body).not.toContain('custody/reports/api-token');
  });

  it('lists the Python and JavaScript packages each profile bundles, so an agent knows what it may import', async () => {
    const document = structuredClone(policyDocument) as typeof policyDocument & {
      profiles: Record<string, Record<string, unknown>>;
    };
    Object.assign(document.profiles.reports as object, {
      python: { packages: ['pandas', 'matplotlib'] },
      javascript: { packages: ['papaparse'] },
    });
    const f = brokerFixture({ policy: parsePolicy(document) });
    const { profiles } = body<{ profiles: { name: string; packages: unknown }[] }>(
      await f.api.handle(list(callers.agent)),
    );
    expect(profiles.map((p) => [p.name, p.packages])).toEqual([
      ['sandbox', { python: [], javascript: [] }],
      ['reports', { python: ['pandas', 'matplotlib'], javascript: ['papaparse'] }],
    ]);
    expect(profilesResponseSchema.safeParse({ profiles }).success).toBe(true);
  });

  it('lists nothing for a principal without grants', async () => {
    const res = await brokerFixture().api.handle(list(callers.stranger));
    expect(body(res)).toEqual({ profiles: [] });
  });

  it('refuses an unknown caller', async () => {
    const res = await brokerFixture().api.handle(list(callers.foreign));
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('UNKNOWN_PRINCIPAL');
  });
});
