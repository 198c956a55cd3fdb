import { afterEach, describe, expect, it } from 'vitest';
import type { SessionStartResponse } from '../../../lambda/core/api-schema.ts';
import { Metric } from '../../../lambda/core/metrics.ts';
import { parsePolicy } from '../../../lambda/core/policy.ts';
import { SESSION_ID, TAG_SESSION_ID } from '../../../lambda/core/session.ts';
import {
  body,
  brokerFixture,
  callers,
  errorOf,
  policyDocument,
  REPORT_SECRET_ARN,
  REPORT_TOKEN,
} from '../fixture.ts';
import { sessionFixture } from './fixture.ts';

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const step of cleanup) step();
  cleanup = [];
});

function setup() {
  const f = sessionFixture();
  cleanup.push(f.removeVault);
  return f;
}

describe('POST /v1/sessions', () => {
  it('starts a session: 201, its id, its end, the names of its secrets', async () => {
    const f = setup();
    const res = await f.start(callers.agent, { profile: 'reports', purpose: 'exposure report' });
    expect(res.statusCode).toBe(201);
    const out = body<SessionStartResponse>(res);
    expect(out.sessionId).toMatch(SESSION_ID);
    expect(out).toMatchObject({
      profile: 'reports',
      expiresAt: '2030-01-01T13:00:00.000Z',
      secretVariables: ['REPORT_API_TOKEN'],
    });
    expect(res.headers['x-custody-session-id']).toBe(out.sessionId);
    expect(f.metrics.recorded).toContainEqual(
      expect.objectContaining({ name: Metric.SessionsStarted, value: 1, dimensions: {} }),
    );
  });

  it('reads the secrets once, with a role session tagged with the session id, and keeps them only sealed', async () => {
    const f = setup();
    const { sessionId } = body<SessionStartResponse>(await f.start(callers.agent));
    expect(f.credentials.calls).toHaveLength(1);
    expect(f.credentials.calls[0]!.tags[TAG_SESSION_ID]).toBe(sessionId);
    expect(f.secrets.calls).toHaveLength(1);
    expect(f.secrets.calls[0]!.session.sessionName).toBe(f.credentials.calls[0]!.sessionName);
    expect(f.secrets.calls[0]!.secrets).toEqual([
      { variable: 'REPORT_API_TOKEN', secretId: REPORT_SECRET_ARN },
    ]);
    const record = f.sessions.records.get(sessionId)!;
    expect(record).toMatchObject({
      principalId: 'agent',
      profile: 'reports',
      status: 'active',
      executions: 0,
    });
    expect(record.wrappedKey).toBeTruthy();
    expect(record.sealedSecrets).toBeTruthy();
    // The value is nowhere in the record, nor in the audit trail.
    expect(JSON.stringify(record)).not.toContain(REPORT_TOKEN);
    expect(JSON.stringify(f.store.records)).not.toContain(REPORT_TOKEN);
  });

  it('writes one session_started record, chained through the audit trail', async () => {
    const f = setup();
    const { sessionId } = body<SessionStartResponse>(await f.start(callers.agent, { profile: 'reports' }));
    const started = f.store.records.filter((r) => r.event === 'session_started');
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({
      caller: { principalId: 'agent' },
      request: { profile: 'reports' },
      decision: { allowed: true },
      secretVariables: ['REPORT_API_TOKEN'],
      session: { sessionId, expiresAt: '2030-01-01T13:00:00.000Z' },
    });
    expect(f.log.records.map((r) => r.event)).toEqual(['session_started']);
  });

  it('ends the session no later than the TTL asked, the profile maximum and the JIT window', async () => {
    const asked = setup();
    expect(
      body<SessionStartResponse>(await asked.start(callers.agent, { profile: 'sandbox', ttlSeconds: 600 }))
        .expiresAt,
    ).toBe('2030-01-01T12:10:00.000Z');
    const capped = setup();
    expect(
      body<SessionStartResponse>(
        await capped.start(callers.agent, { profile: 'sandbox', ttlSeconds: 8 * 3600 }),
      ).expiresAt,
    ).toBe('2030-01-01T13:00:00.000Z');

    // A grant whose window closes at 12:20 bounds the session there.
    const doc = structuredClone(policyDocument);
    doc.principals[0]!.grants = [{ profile: 'sandbox', notAfter: '2030-01-01T12:20:00Z' } as never];
    const f = sessionFixture({ policy: parsePolicy(doc) });
    cleanup.push(f.removeVault);
    expect(body<SessionStartResponse>(await f.start(callers.agent, { profile: 'sandbox' })).expiresAt).toBe(
      '2030-01-01T12:20:00.000Z',
    );
  });

  it('refuses what an execution would refuse, and audits it', async () => {
    const f = setup();
    const noGrant = await f.start(callers.stranger, { profile: 'sandbox' });
    expect(noGrant.statusCode).toBe(403);
    expect(errorOf(noGrant).code).toBe('NO_GRANT');
    const early = await f.start(callers.agent, { profile: 'later' });
    expect(errorOf(early).code).toBe('GRANT_NOT_YET_VALID');
    f.revocations.revoke('profile', 'reports');
    const revoked = await f.start(callers.agent, { profile: 'reports' });
    expect(errorOf(revoked).code).toBe('PROFILE_REVOKED');
    const bad = await f.start(callers.agent, { profile: 'sandbox', ttlSeconds: 5 });
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad).message).toMatch(/ttlSeconds/);
    expect(f.store.records.map((r) => [r.event, r.decision.reason])).toEqual([
      ['denied', 'NO_GRANT'],
      ['denied', 'GRANT_NOT_YET_VALID'],
      ['denied', 'PROFILE_REVOKED'],
      ['denied', 'INVALID_REQUEST'],
    ]);
    expect(f.sessions.records.size).toBe(0);
    expect(f.secrets.calls).toHaveLength(0);
  });

  it('keeps no session when its secrets cannot be read, and says so (503)', async () => {
    const f = setup();
    f.secrets.failWith = new Error('AccessDeniedException');
    const res = await f.start(callers.agent, { profile: 'reports' });
    expect(res.statusCode).toBe(503);
    expect(f.sessions.records.size).toBe(0);
    expect(f.store.records.map((r) => r.event)).toEqual(['denied']);
    expect(f.metrics.recorded).toContainEqual(
      expect.objectContaining({ name: Metric.DependencyFailures, dimensions: { Dependency: 'secrets' } }),
    );
  });

  it('answers 503 on every session route where the deployment has no session store', async () => {
    const { api } = brokerFixture();
    for (const [method, path] of [
      ['POST', '/v1/sessions'],
      ['GET', '/v1/sessions'],
      ['GET', '/v1/sessions/ses_01HZX3K7R8M9N0P1Q2R3S4T5V6'],
      ['DELETE', '/v1/sessions/ses_01HZX3K7R8M9N0P1Q2R3S4T5V6'],
      ['POST', '/v1/sessions/ses_01HZX3K7R8M9N0P1Q2R3S4T5V6/executions'],
    ] as const) {
      const res = await api.handle({ method, path, body: '{"profile":"sandbox"}', caller: callers.agent });
      expect(res.statusCode, `${method} ${path}`).toBe(503);
      expect(errorOf(res).message).toBe('Sessions are not configured on this deployment.');
    }
    expect(await api.sweepSessions()).toEqual({ ended: 0 });
  });

  it('shreds the session when its session_started record cannot be stored (503)', async () => {
    const f = setup();
    f.store.failPutsOf('session_started');
    const res = await f.start(callers.agent, { profile: 'reports' });
    expect(res.statusCode).toBe(503);
    const [record] = [...f.sessions.records.values()];
    expect(record).toMatchObject({ status: 'ended' });
    expect(record!.wrappedKey).toBeUndefined();
    expect(record!.sealedSecrets).toBeUndefined();
  });
});
