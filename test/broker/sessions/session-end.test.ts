import { afterEach, describe, expect, it } from 'vitest';
import type { SessionStartResponse, SessionSummary } from '../../../lambda/core/api-schema.ts';
import { Metric } from '../../../lambda/core/metrics.ts';
import type { SandboxResult } from '../../../lambda/core/types.ts';
import { deferred, sandboxResult } from '../fakes.ts';
import { body, callers, errorOf } from '../fixture.ts';
import { sessionFixture, standInState } from './fixture.ts';

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const step of cleanup) step();
  cleanup = [];
});

async function started(profile = 'reports') {
  const f = sessionFixture();
  cleanup.push(f.removeVault);
  const sessionId = body<SessionStartResponse>(await f.start(callers.agent, { profile })).sessionId;
  expect((await f.run(callers.agent, sessionId)).statusCode).toBe(200);
  expect(f.state.objects.has(sessionId)).toBe(true);
  return { f, sessionId };
}

/** What must be gone once a session has ended: its key, its sealed secrets, its state. */
function expectShredded(f: Awaited<ReturnType<typeof started>>['f'], sessionId: string) {
  const record = f.sessions.records.get(sessionId)!;
  expect(record.status).toBe('ended');
  expect(record.wrappedKey).toBeUndefined();
  expect(record.sealedSecrets).toBeUndefined();
  expect(f.state.objects.has(sessionId)).toBe(false);
}

describe('ending a session', () => {
  it('DELETE ends it: key and sealed secrets shredded, state deleted, later calls 410', async () => {
    const { f, sessionId } = await started();
    f.advance(90);
    const res = await f.end(callers.agent, sessionId);
    expect(res.statusCode).toBe(200);
    expect(body(res)).toEqual({ sessionId, status: 'ended' });
    expectShredded(f, sessionId);
    const after = await f.run(callers.agent, sessionId);
    expect(after.statusCode).toBe(410);
    expect(errorOf(after).code).toBe('SESSION_ENDED');
    expect((await f.end(callers.agent, sessionId)).statusCode).toBe(410);
    const ended = f.store.records.filter((r) => r.event === 'session_ended');
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({
      caller: { principalId: 'agent' },
      session: { sessionId, endReason: 'deleted', executions: 1, durationSeconds: 90 },
    });
    expect(ended[0]!.session!.stateBytes).toBeGreaterThan(0);
    expect(f.metrics.recorded).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: Metric.SessionsEnded, value: 1, dimensions: {} }),
        expect.objectContaining({ name: Metric.SessionsEnded, value: 1, dimensions: { Reason: 'deleted' } }),
        expect.objectContaining({ name: Metric.SessionSeconds, value: 90 }),
      ]),
    );
  });

  it('ends an expired session on its next access (410), shredding it', async () => {
    const { f, sessionId } = await started();
    f.advance(3600);
    const res = await f.run(callers.agent, sessionId);
    expect(res.statusCode).toBe(410);
    expect(errorOf(res).message).toMatch(/expired at 2030-01-01T13:00:00.000Z/);
    expectShredded(f, sessionId);
    expect(f.sessions.records.get(sessionId)!.endReason).toBe('expired');
    expect(f.executor.calls).toHaveLength(1);
    const show = body<SessionSummary>(await f.show(callers.agent, sessionId));
    expect(show).toMatchObject({ status: 'expired', endReason: 'expired', executions: 1 });
  });

  it('ends the session when the kill switch revoked its principal: 403 now, 410 after', async () => {
    const { f, sessionId } = await started();
    f.revocations.revoke('principal', 'agent');
    const res = await f.run(callers.agent, sessionId);
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('PRINCIPAL_SUSPENDED');
    expectShredded(f, sessionId);
    expect(f.sessions.records.get(sessionId)!.endReason).toBe('revoked');
    f.revocations.states.clear();
    expect((await f.run(callers.agent, sessionId)).statusCode).toBe(410);
  });

  it('the sweep ends expired sessions and those whose profile was revoked, and leaves the rest', async () => {
    const f = sessionFixture();
    cleanup.push(f.removeVault);
    const id = async (profile: string, ttlSeconds?: number) =>
      body<SessionStartResponse>(
        await f.start(callers.agent, { profile, ...(ttlSeconds ? { ttlSeconds } : {}) }),
      ).sessionId;
    const short = await id('sandbox', 60);
    f.advance(1);
    const revoked = await id('reports');
    f.advance(1);
    const alive = await id('sandbox');
    for (const sessionId of [short, revoked, alive]) await f.run(callers.agent, sessionId);
    f.advance(120);
    f.revocations.revoke('profile', 'reports');
    expect(await f.api.sweepSessions()).toEqual({ ended: 2 });
    expectShredded(f, short);
    expectShredded(f, revoked);
    expect(f.sessions.records.get(short)!.endReason).toBe('expired');
    expect(f.sessions.records.get(revoked)!.endReason).toBe('revoked');
    expect(f.sessions.records.get(alive)!.wrappedKey).toBeTruthy();
    expect(f.state.objects.has(alive)).toBe(true);
    const ended = f.store.records.filter((r) => r.event === 'session_ended');
    expect(ended.map((r) => [r.session?.sessionId, r.session?.endReason, r.caller.arn])).toEqual([
      [short, 'expired', 'custody:session-sweep'],
      [revoked, 'revoked', 'custody:session-sweep'],
    ]);
    expect(await f.api.sweepSessions()).toEqual({ ended: 0 });
  });

  it('a DELETE while a call runs: the state that call writes is deleted too', async () => {
    const f = sessionFixture();
    cleanup.push(f.removeVault);
    const sessionId = body<SessionStartResponse>(
      await f.start(callers.agent, { profile: 'sandbox' }),
    ).sessionId;
    const gate = deferred<SandboxResult>();
    const entered = deferred();
    f.executor.run = async (_s, _p, request) => {
      entered.resolve();
      const result = await gate.promise;
      return { ...result, state: { carried: standInState(request), dropped: [] } };
    };
    const running = f.run(callers.agent, sessionId);
    await entered.promise;
    expect((await f.end(callers.agent, sessionId)).statusCode).toBe(200);
    gate.resolve(sandboxResult());
    expect((await running).statusCode).toBe(200);
    expect(f.state.writes).toHaveLength(1);
    expectShredded(f, sessionId);
  });
});

describe('GET /v1/sessions and /v1/sessions/{id}', () => {
  it('shows a session to its starter and to an auditor, to no one else', async () => {
    const { f, sessionId } = await started();
    const own = await f.show(callers.agent, sessionId);
    expect(own.statusCode).toBe(200);
    const summary = body<SessionSummary>(own);
    expect(summary).toEqual({
      sessionId,
      profile: 'reports',
      status: 'active',
      createdAt: '2030-01-01T12:00:00.000Z',
      expiresAt: '2030-01-01T13:00:00.000Z',
      executions: 1,
      stateBytes: f.sessions.records.get(sessionId)!.stateBytes,
    });
    expect(body(await f.show(callers.auditor, sessionId))).toEqual(summary);
    expect((await f.show(callers.stranger, sessionId)).statusCode).toBe(404);
    expect((await f.show(callers.other, sessionId)).statusCode).toBe(404);
    // An auditor reads; it does not use or end.
    expect((await f.end(callers.auditor, sessionId)).statusCode).toBe(404);
  });

  it("lists the caller's own sessions only, newest first", async () => {
    const f = sessionFixture();
    cleanup.push(f.removeVault);
    const first = body<SessionStartResponse>(await f.start(callers.agent, { profile: 'sandbox' })).sessionId;
    f.advance(5);
    const second = body<SessionStartResponse>(await f.start(callers.agent, { profile: 'sandbox' })).sessionId;
    await f.start(callers.other, { profile: 'sandbox' });
    const res = await f.list(callers.agent);
    expect(res.statusCode).toBe(200);
    expect(body<{ sessions: SessionSummary[] }>(res).sessions.map((s) => s.sessionId)).toEqual([
      second,
      first,
    ]);
  });

  it('answers 405 with the methods a session route allows', async () => {
    const f = sessionFixture();
    cleanup.push(f.removeVault);
    const res = await f.api.handle({
      method: 'PUT',
      path: '/v1/sessions',
      body: null,
      caller: callers.agent,
    });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET, POST');
  });
});
