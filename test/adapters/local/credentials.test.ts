import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalCredentialsPort } from '../../../lambda/adapters/local/credentials.ts';
import { localDeployment } from '../../../lambda/adapters/local/deployment.ts';
import { loadPolicyFile } from '../../../lambda/core/policy.ts';
import type { AssumeRoleInput } from '../../../lambda/core/ports.ts';

const deployment = localDeployment(loadPolicyFile('custody.policy.json'), 'us-east-1');
const dir = mkdtempSync(join(tmpdir(), 'custody-sts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const valid: AssumeRoleInput = {
  roleArn: 'arn:aws:iam::111122223333:role/custody-exec-sandbox',
  sessionName: 'custody-agent-0123456789',
  sourceIdentity: 'agent',
  tags: { caller: 'arn:aws:sts::111122223333:assumed-role/custody-agent/local', profile: 'sandbox' },
  sessionPolicy: '{"Version":"2012-10-17","Statement":[]}',
  durationSeconds: 900,
};

function port(now: { t: number }, stsLogFile?: string) {
  return new LocalCredentialsPort({ deployment, clock: () => new Date(now.t), stsLogFile });
}

describe('LocalCredentialsPort', () => {
  it('mints a session for one execution and records it like STS, without the secret', async () => {
    const log = join(dir, 'sts.log');
    const now = { t: Date.parse('2026-03-01T12:00:00Z') };
    const session = await port(now, log).assumeRole(valid);
    expect(session).toMatchObject({
      roleArn: valid.roleArn,
      assumedRoleArn: 'arn:aws:sts::111122223333:assumed-role/custody-exec-sandbox/custody-agent-0123456789',
      sessionName: valid.sessionName,
      sourceIdentity: 'agent',
    });
    expect(session.credentials.accessKeyId).toMatch(/^ASIA/);
    expect(session.credentials.expiration.toISOString()).toBe('2026-03-01T12:15:00.000Z');
    const text = readFileSync(log, 'utf8');
    const event = JSON.parse(text.trim());
    expect(event).toMatchObject({ eventName: 'AssumeRole', sourceIdentity: 'agent', tags: valid.tags });
    expect(text).not.toContain(session.credentials.secretAccessKey);
    expect(text).not.toContain(session.credentials.sessionToken);
  });

  it('gives every execution different keys', async () => {
    const p = port({ t: Date.now() });
    const a = await p.assumeRole(valid);
    const b = await p.assumeRole({ ...valid, sessionName: 'custody-agent-other' });
    expect(a.credentials.accessKeyId).not.toBe(b.credentials.accessKeyId);
    expect(a.credentials.secretAccessKey).not.toBe(b.credentials.secretAccessKey);
  });

  it('forgets expired sessions as time passes, and refuses a short one issued after a long one once it expires', async () => {
    const now = { t: Date.parse('2026-03-01T12:00:00Z') };
    const p = port(now);
    const long = await p.assumeRole({ ...valid, durationSeconds: 3600 });
    const short = await p.assumeRole({ ...valid, sessionName: 'custody-agent-short' });
    for (let i = 0; i < 50; i++) await p.assumeRole({ ...valid, sessionName: `custody-agent-${i}` });
    expect(p.activeSessions()).toHaveLength(52);
    now.t += 901_000;
    expect(p.check(short.credentials)).toEqual({ ok: false, reason: 'EXPIRED_SESSION' });
    expect(p.check(long.credentials)).toMatchObject({ ok: true });
    expect(p.activeSessions().map((s) => s.accessKeyId)).toEqual([long.credentials.accessKeyId]);
    now.t += 3600_000;
    await p.assumeRole(valid);
    expect(p.check(long.credentials)).toEqual({ ok: false, reason: 'UNKNOWN_SESSION' }); // forgotten
    expect(p.check(short.credentials)).toEqual({ ok: false, reason: 'UNKNOWN_SESSION' });
    expect(p.activeSessions()).toHaveLength(1);
  });

  it('accepts its own session until it expires, and nothing else', async () => {
    const now = { t: Date.parse('2026-03-01T12:00:00Z') };
    const p = port(now);
    const session = await p.assumeRole(valid);
    expect(p.check(session.credentials)).toMatchObject({ ok: true, session: { profile: 'sandbox' } });
    expect(p.check({ ...session.credentials, secretAccessKey: 'forged' })).toEqual({
      ok: false,
      reason: 'UNKNOWN_SESSION',
    });
    now.t += 900_000;
    expect(p.check(session.credentials)).toEqual({ ok: false, reason: 'EXPIRED_SESSION' });
  });

  it.each([
    [
      'a role outside the deployment',
      { roleArn: 'arn:aws:iam::111122223333:role/admin' },
      /not an execution role/,
    ],
    ['a session name with a colon', { sessionName: 'a:b' }, /RoleSessionName/],
    ['a session name of 65 characters', { sessionName: 'x'.repeat(65) }, /RoleSessionName/],
    [
      'an ARN as source identity',
      { sourceIdentity: 'arn:aws:iam::111122223333:role/x' },
      /must not be an ARN/,
    ],
    ['a reserved aws: source identity', { sourceIdentity: 'aws:me' }, /SourceIdentity/],
    ['a tag key starting with aws:', { tags: { 'aws:x': 'y' } }, /tag key/],
    ['a tag value of 257 characters', { tags: { k: 'v'.repeat(257) } }, /value/],
    ['a session policy of 2,049 characters', { sessionPolicy: `"${'x'.repeat(2047)}"` }, /2049 characters/],
    ['a session policy that is not JSON', { sessionPolicy: '{' }, /not valid JSON/],
    ['a duration of 899 seconds', { durationSeconds: 899 }, /DurationSeconds/],
    ['a duration of 3,601 seconds', { durationSeconds: 3601 }, /DurationSeconds/],
  ])('refuses %s, as STS would', async (_name, change, message) => {
    await expect(port({ t: Date.now() }).assumeRole({ ...valid, ...change })).rejects.toThrow(message);
  });
});

describe('LocalCredentialsPort with the kill switch', () => {
  const T = Date.parse('2026-03-01T12:00:00Z');
  function revocable(now: { t: number }, state: { before?: string; fail?: boolean; reads?: number }) {
    return new LocalCredentialsPort({
      deployment,
      clock: () => new Date(now.t),
      revocations: {
        async get(scope, target) {
          state.reads = (state.reads ?? 0) + 1;
          if (state.fail) throw new Error('table unreachable');
          if (scope !== 'profile' || target !== 'sandbox' || state.before === undefined) return undefined;
          return {
            scope,
            target,
            revoked: true,
            revokedAt: state.before,
            revokedBy: 'local:ops',
            sessionsIssuedBefore: state.before,
          };
        },
      },
    });
  }

  it('refuses a session issued before its profile was revoked, as the TokenIssueTime deny does', async () => {
    const now = { t: T };
    const state: { before?: string } = {};
    const sts = revocable(now, state);
    const old = await sts.assumeRole(valid);
    expect((await sts.authorize(old.credentials)).ok).toBe(true);
    now.t = T + 60_000;
    state.before = new Date(now.t).toISOString();
    expect(await sts.authorize(old.credentials)).toEqual({
      ok: false,
      reason: 'REVOKED_SESSION',
      revokedAt: state.before,
    });
    // Issued at the instant or later: valid (DateLessThan is strict).
    const fresh = await sts.assumeRole({ ...valid, sessionName: 'custody-agent-fresh' });
    expect((await sts.authorize(fresh.credentials)).ok).toBe(true);
    // The plain check knows nothing of revocation.
    expect(sts.check(old.credentials).ok).toBe(true);
  });

  it('throws when the revocation state cannot be read, so the ports fail closed', async () => {
    const now = { t: T };
    const state = { fail: false };
    const sts = revocable(now, state);
    const session = await sts.assumeRole(valid);
    state.fail = true;
    await expect(sts.authorize(session.credentials)).rejects.toThrow('table unreachable');
  });

  it("judges a request's own session by the state that request read, without reading it again", async () => {
    const now = { t: T };
    const state: { before?: string; reads?: number } = {};
    const sts = revocable(now, state);
    const readAt = new Date(now.t);
    const session = await sts.assumeRole(valid);
    const context = { profileRevocation: { profile: 'sandbox', state: undefined, readAt } };
    expect((await sts.authorize(session.credentials, context)).ok).toBe(true);
    expect(state.reads ?? 0).toBe(0);
    // The request's read saw the profile revoked at an instant after the session: refused, no read.
    const revokedAt = new Date(now.t + 1).toISOString();
    const revoked = {
      scope: 'profile' as const,
      target: 'sandbox',
      revoked: true,
      revokedAt,
      revokedBy: 'local:ops',
      sessionsIssuedBefore: revokedAt,
    };
    expect(
      await sts.authorize(session.credentials, {
        profileRevocation: { ...context.profileRevocation, state: revoked },
      }),
    ).toEqual({ ok: false, reason: 'REVOKED_SESSION', revokedAt });
    expect(state.reads ?? 0).toBe(0);
  });

  it('reads the state afresh for a session older than the request read, or of another profile', async () => {
    const now = { t: T };
    const state: { before?: string; reads?: number } = {};
    const sts = revocable(now, state);
    const old = await sts.assumeRole(valid);
    now.t = T + 60_000;
    state.before = new Date(now.t).toISOString();
    // A later request read "not revoked" before the revocation landed: the old session is still refused.
    const stale = {
      profileRevocation: { profile: 'sandbox', state: undefined, readAt: new Date(T + 30_000) },
    };
    expect(await sts.authorize(old.credentials, stale)).toMatchObject({
      ok: false,
      reason: 'REVOKED_SESSION',
    });
    expect(state.reads).toBe(1);
    const otherProfile = { profileRevocation: { profile: 'reports', state: undefined, readAt: new Date(T) } };
    expect(await sts.authorize(old.credentials, otherProfile)).toMatchObject({
      ok: false,
      reason: 'REVOKED_SESSION',
    });
    expect(state.reads).toBe(2);
  });
});
