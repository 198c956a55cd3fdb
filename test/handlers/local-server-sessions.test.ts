/**
 * Sessions served by the local server (`npm start`): the real edge, broker, local STS, secrets
 * file, key vault under `.custody/`, state files and the session table in dynalite, with a
 * SANDBOX STAND-IN (it carries the session's state as the real sandboxes do: a file appended to on
 * each call). The real sandboxes' half is `test/e2e/sessions.e2e.test.ts`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionExecutionResponse, SessionStartResponse } from '../../lambda/core/api-schema.ts';
import type { Sandbox, SandboxRequest, SandboxResult } from '../../lambda/core/types.ts';
import { sdkSigned, startTestServer, type TestServer } from '../e2e/support.ts';

/** The sandbox stand-in: appends the code to `log.txt` of the state, prints the token it was given. */
const standIn: Sandbox = {
  async run(request: SandboxRequest): Promise<SandboxResult> {
    const previous = request.session?.state?.files['log.txt'];
    const log = `${previous ? Buffer.from(previous, 'base64').toString() : ''}${request.code}\n`;
    return {
      status: 'succeeded',
      stdout: `token=${request.env?.REPORT_API_TOKEN ?? ''}\nlog=${JSON.stringify(log)}\n`,
      stderr: '',
      stdoutTruncated: false,
      stderrTruncated: false,
      files: {},
      filesTruncated: false,
      timings: { startMs: 0, runMs: 1 },
      ...(request.session
        ? { state: { carried: { files: { 'log.txt': Buffer.from(log).toString('base64') } }, dropped: [] } }
        : {}),
    };
  },
};

describe('sessions on the local server', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ sandbox: standIn });
  }, 60_000);
  afterAll(() => t?.stop());

  const call = async (who: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => {
    const res = await sdkSigned({
      identity: t.identity(who),
      url: `${t.server.url}${path}`,
      method,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: JSON.parse(res.body) };
  };

  it('starts, carries state between calls, hides the session from others, and shreds it on DELETE', async () => {
    const started = await call('agent', 'POST', '/v1/sessions', { profile: 'reports' });
    expect(started.status).toBe(201);
    const { sessionId } = started.body as SessionStartResponse;

    const first = await call('agent', 'POST', `/v1/sessions/${sessionId}/executions`, {
      language: 'python',
      code: 'a = 1',
    });
    expect(first.status).toBe(200);
    const second = await call('agent', 'POST', `/v1/sessions/${sessionId}/executions`, {
      language: 'python',
      code: 'b = 2',
    });
    const out = second.body as SessionExecutionResponse;
    expect(out).toMatchObject({ sequence: 2, state: { saved: true } });
    expect(out.stdout).toBe('token=[REDACTED:REPORT_API_TOKEN]\nlog="a = 1\\nb = 2\\n"\n');

    // The state on disk is sealed and owner-only; the master key too.
    const stateFile = join(t.home, 'sessions', sessionId, 'state');
    expect(statSync(stateFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(stateFile, 'utf8')).not.toContain('a = 1');
    expect(statSync(join(t.home, 'session-master.key')).mode & 0o777).toBe(0o600);

    expect((await call('stranger', 'GET', `/v1/sessions/${sessionId}`)).status).toBe(404);
    expect(
      (
        await call('stranger', 'POST', `/v1/sessions/${sessionId}/executions`, {
          language: 'python',
          code: 'x',
        })
      ).status,
    ).toBe(404);
    expect((await call('auditor', 'GET', `/v1/sessions/${sessionId}`)).body).toMatchObject({
      executions: 2,
      status: 'active',
    });

    expect((await call('agent', 'DELETE', `/v1/sessions/${sessionId}`)).body).toEqual({
      sessionId,
      status: 'ended',
    });
    expect(existsSync(join(t.home, 'sessions', sessionId))).toBe(false);
    const after = await call('agent', 'POST', `/v1/sessions/${sessionId}/executions`, {
      language: 'python',
      code: 'c = 3',
    });
    expect(after.status).toBe(410);
    expect(after.body.error.code).toBe('SESSION_ENDED');
    expect((await call('agent', 'GET', '/v1/sessions')).body.sessions[0]).toMatchObject({
      sessionId,
      status: 'ended',
      endReason: 'deleted',
    });
  });

  it('ends a session whose principal `custody revoke` suspended, on the sweep: record shredded, state gone', async () => {
    const started = await call('agent', 'POST', '/v1/sessions', { profile: 'sandbox' });
    const { sessionId } = started.body as SessionStartResponse;
    expect(
      (await call('agent', 'POST', `/v1/sessions/${sessionId}/executions`, { language: 'python', code: 'a' }))
        .status,
    ).toBe(200);
    expect(existsSync(join(t.home, 'sessions', sessionId, 'state'))).toBe(true);
    await t.server.revocations.revoke({
      scope: 'principal',
      target: 'agent',
      at: new Date(),
      by: 'local:test',
      reason: 'test',
    });
    try {
      expect(await t.server.sweepSessions()).toEqual({ ended: 1 });
      expect(existsSync(join(t.home, 'sessions', sessionId))).toBe(false);
      const summary = (await call('auditor', 'GET', `/v1/sessions/${sessionId}`)).body;
      expect(summary).toMatchObject({ status: 'ended', endReason: 'revoked' });
    } finally {
      await t.server.revocations.reinstate({
        scope: 'principal',
        target: 'agent',
        at: new Date(),
        by: 'local:test',
      });
    }
    expect(
      (await call('agent', 'POST', `/v1/sessions/${sessionId}/executions`, { language: 'python', code: 'b' }))
        .status,
    ).toBe(410);
  });
});
