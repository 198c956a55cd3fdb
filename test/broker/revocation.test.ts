/**
 * The kill switch in the broker core: every execution reads the revocation state of its principal
 * and profile; a suspended principal or a revoked profile is refused (403, audited), and a state
 * that cannot be read refuses everything (503). In-memory ports; the DynamoDB adapter and the
 * whole local path are tested in test/revocation and test/e2e.
 */
import { describe, expect, it } from 'vitest';
import { Metric } from '../../lambda/core/metrics.ts';
import type { RevocationPort, RevocationScope, RevocationState } from '../../lambda/core/ports.ts';
import { brokerFixture, callers, post } from './fixture.ts';

class MemoryRevocations implements RevocationPort {
  readonly states = new Map<string, RevocationState>();
  readonly reads: string[] = [];
  failWith: Error | undefined;

  set(scope: RevocationScope, target: string, revoked = true): void {
    this.states.set(`${scope}#${target}`, {
      scope,
      target,
      revoked,
      revokedAt: '2030-01-01T11:00:00.000Z',
      revokedBy: 'arn:aws:iam::111122223333:user/ops',
      reason: 'incident 42',
      ...(scope === 'profile' ? { sessionsIssuedBefore: '2030-01-01T11:00:00.000Z' } : {}),
      ...(revoked ? {} : { reinstatedAt: '2030-01-01T11:30:00.000Z' }),
    });
  }

  async get(scope: RevocationScope, target: string): Promise<RevocationState | undefined> {
    this.reads.push(`${scope}#${target}`);
    if (this.failWith) throw this.failWith;
    return this.states.get(`${scope}#${target}`);
  }
}

const run = { profile: 'sandbox', language: 'python', code: 'print(1)' };

function setup() {
  const revocations = new MemoryRevocations();
  const f = brokerFixture({ revocations });
  return { ...f, revocations };
}

function errorOf(res: { body: string }) {
  return (JSON.parse(res.body) as { error: { code: string; message: string; executionId?: string } }).error;
}

describe('Kill switch in the broker', () => {
  it('reads the principal and the profile state on every execution', async () => {
    const f = setup();
    const res = await f.api.handle(post(callers.agent, run));
    expect(res.statusCode).toBe(200);
    expect(f.revocations.reads.sort()).toEqual(['principal#agent', 'profile#sandbox']);
  });

  it('hands the profile state it read to the secrets and executor of the same request, read once', async () => {
    const f = setup();
    f.revocations.set('profile', 'reports', false);
    const res = await f.api.handle(post(callers.agent, { ...run, profile: 'reports' }));
    expect(res.statusCode).toBe(200);
    const expected = {
      profileRevocation: { profile: 'reports', state: f.revocations.states.get('profile#reports') },
    };
    expect(f.secrets.calls[0]?.context).toMatchObject(expected);
    expect(f.executor.calls[0]?.context).toMatchObject(expected);
    expect(f.executor.calls[0]?.context?.profileRevocation?.readAt).toBeInstanceOf(Date);
    expect(f.revocations.reads.sort()).toEqual(['principal#agent', 'profile#reports']);
  });

  it('refuses a suspended principal with 403 PRINCIPAL_SUSPENDED, runs nothing, and audits the denial', async () => {
    const f = setup();
    f.revocations.set('principal', 'agent');
    const res = await f.api.handle(post(callers.agent, run));
    expect(res.statusCode).toBe(403);
    const error = errorOf(res);
    expect(error.code).toBe('PRINCIPAL_SUSPENDED');
    expect(error.message).toContain('agent');
    expect(error.message).not.toContain('incident 42');
    expect(f.credentials.calls).toHaveLength(0);
    expect(f.executor.calls).toHaveLength(0);
    expect(f.store.records).toHaveLength(1);
    expect(f.store.records[0]).toMatchObject({
      executionId: error.executionId,
      event: 'denied',
      caller: { principalId: 'agent' },
      decision: { allowed: false, reason: 'PRINCIPAL_SUSPENDED' },
    });
    expect(f.metrics.total(Metric.Denials, { Reason: 'PRINCIPAL_SUSPENDED' })).toBe(1);
  });

  it('leaves other principals running while one is suspended', async () => {
    const f = setup();
    f.revocations.set('principal', 'agent');
    const res = await f.api.handle(post(callers.other, run));
    expect(res.statusCode).toBe(200);
    expect(f.executor.calls).toHaveLength(1);
  });

  it('refuses a revoked profile with 403 PROFILE_REVOKED and still runs the others', async () => {
    const f = setup();
    f.revocations.set('profile', 'sandbox');
    const refused = await f.api.handle(post(callers.agent, run));
    expect(refused.statusCode).toBe(403);
    expect(errorOf(refused).code).toBe('PROFILE_REVOKED');
    expect(f.credentials.calls).toHaveLength(0);
    expect(f.store.records.map((r) => [r.event, r.decision.reason])).toEqual([['denied', 'PROFILE_REVOKED']]);

    const other = await f.api.handle(post(callers.agent, { ...run, profile: 'reports' }));
    expect(other.statusCode).toBe(200);
    expect(f.executor.calls.map((c) => c.profile)).toEqual(['reports']);
  });

  it('runs again once reinstated', async () => {
    const f = setup();
    f.revocations.set('profile', 'sandbox', false);
    f.revocations.set('principal', 'agent', false);
    const res = await f.api.handle(post(callers.agent, run));
    expect(res.statusCode).toBe(200);
  });

  it('tells a caller without a grant NO_GRANT, not that the profile is revoked', async () => {
    const f = setup();
    f.revocations.set('profile', 'sandbox');
    const res = await f.api.handle(post(callers.stranger, run));
    expect(errorOf(res).code).toBe('NO_GRANT');
  });

  it('does not look up a profile the policy does not declare', async () => {
    const f = setup();
    const res = await f.api.handle(post(callers.agent, { ...run, profile: 'nope' }));
    expect(errorOf(res).code).toBe('UNKNOWN_PROFILE');
    expect(f.revocations.reads).toEqual(['principal#agent']);
  });

  it('fails closed: an unreadable revocation state answers 503, runs nothing, and is audited and counted', async () => {
    const f = setup();
    f.revocations.failWith = new Error('table unreachable');
    const res = await f.api.handle(post(callers.agent, run));
    expect(res.statusCode).toBe(503);
    expect(errorOf(res).code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(errorOf(res).message).not.toContain('table unreachable');
    expect(f.credentials.calls).toHaveLength(0);
    expect(f.executor.calls).toHaveLength(0);
    expect(f.store.records.map((r) => [r.event, r.decision.reason])).toEqual([
      ['denied', 'DEPENDENCY_UNAVAILABLE'],
    ]);
    expect(f.metrics.total(Metric.DependencyFailures, { Dependency: 'revocation' })).toBe(1);
  });
});

describe('GET /v1/profiles with the kill switch', () => {
  const list = (caller: (typeof callers)[keyof typeof callers]) => ({
    method: 'GET',
    path: '/v1/profiles',
    body: null,
    caller,
  });
  const names = (res: { body: string }) =>
    (JSON.parse(res.body) as { profiles: { name: string }[] }).profiles.map((p) => p.name);

  it('leaves out a revoked profile', async () => {
    const f = setup();
    expect(names(await f.api.handle(list(callers.agent)))).toEqual(['sandbox', 'reports']);
    f.revocations.set('profile', 'sandbox');
    expect(names(await f.api.handle(list(callers.agent)))).toEqual(['reports']);
  });

  it('refuses a suspended principal with 403 PRINCIPAL_SUSPENDED', async () => {
    const f = setup();
    f.revocations.set('principal', 'agent');
    const res = await f.api.handle(list(callers.agent));
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('PRINCIPAL_SUSPENDED');
  });

  it('answers 503 when the state cannot be read', async () => {
    const f = setup();
    f.revocations.failWith = new Error('down');
    const res = await f.api.handle(list(callers.agent));
    expect(res.statusCode).toBe(503);
  });
});
