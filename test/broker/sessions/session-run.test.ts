import { afterEach, describe, expect, it } from 'vitest';
import type { SessionExecutionResponse, SessionStartResponse } from '../../../lambda/core/api-schema.ts';
import { TAG_SESSION_ID } from '../../../lambda/core/session.ts';
import type { SandboxResult } from '../../../lambda/core/types.ts';
import { deferred, idle, sandboxResult } from '../fakes.ts';
import { body, callers, errorOf, REPORT_TOKEN } from '../fixture.ts';
import { sessionFixture, standInState } from './fixture.ts';

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const step of cleanup) step();
  cleanup = [];
});

async function started(profile = 'reports') {
  const f = sessionFixture();
  cleanup.push(f.removeVault);
  const res = await f.start(callers.agent, { profile });
  expect(res.statusCode).toBe(201);
  return { f, sessionId: body<SessionStartResponse>(res).sessionId };
}

const decode = (b64: string | undefined) => Buffer.from(b64 ?? '', 'base64').toString('utf8');

describe('POST /v1/sessions/{id}/executions', () => {
  it('hands each call the state the previous call left, and numbers the calls', async () => {
    const { f, sessionId } = await started();
    const first = await f.run(callers.agent, sessionId, 'a = 1');
    expect(first.statusCode).toBe(200);
    expect(body<SessionExecutionResponse>(first)).toMatchObject({
      sessionId,
      sequence: 1,
      status: 'succeeded',
      stdout: 'ran a = 1\n',
      state: { saved: true, dropped: ['sock'] },
    });
    const second = await f.run(callers.agent, sessionId, 'b = a + 1');
    expect(body<SessionExecutionResponse>(second)).toMatchObject({ sequence: 2, state: { saved: true } });
    // Call 1 ran with an empty session; call 2 was given what call 1 carried.
    expect(f.executor.calls[0]!.request.session).toEqual({});
    expect(decode(f.executor.calls[1]!.request.session?.state?.files['log.txt'])).toBe('a = 1\n');
    expect(body<SessionExecutionResponse>(second).state!.bytes).toBe(
      f.sessions.records.get(sessionId)!.stateBytes,
    );
    expect(f.sessions.records.get(sessionId)).toMatchObject({ executions: 2 });
  });

  it('runs each call under its own role session tagged with the session id, and reads and writes the state WITH it', async () => {
    const { f, sessionId } = await started();
    await f.run(callers.agent, sessionId);
    await f.run(callers.agent, sessionId);
    const [, call1, call2] = f.credentials.calls;
    for (const call of [call1, call2]) {
      expect(call!.tags[TAG_SESSION_ID]).toBe(sessionId);
      expect(JSON.parse(call!.sessionPolicy).Statement).toContainEqual({
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject'],
        Resource: `arn:aws:s3:::*/sessions/${sessionId}/*`,
      });
    }
    expect(call1!.sessionName).not.toBe(call2!.sessionName);
    // The first call has no saved state to read (on AWS a read of a missing object would be a 403).
    expect(f.state.reads.map((r) => [r.sessionId, r.session.sessionName])).toEqual([
      [sessionId, call2!.sessionName],
    ]);
    expect(f.state.writes.map((w) => w.session.sessionName)).toEqual([
      call1!.sessionName,
      call2!.sessionName,
    ]);
  });

  it('gives every call the secrets sealed at start: Secrets Manager is read once per session', async () => {
    const { f, sessionId } = await started();
    f.executor.respond = (request) =>
      sandboxResult({
        stdout: `token=${request.env?.REPORT_API_TOKEN}\n`,
        state: { carried: standInState(request), dropped: [] },
      });
    for (let i = 0; i < 3; i++) {
      const res = await f.run(callers.agent, sessionId);
      expect(body<SessionExecutionResponse>(res).stdout).toBe('token=[REDACTED:REPORT_API_TOKEN]\n');
    }
    expect(f.secrets.calls).toHaveLength(1);
    expect(f.executor.calls.map((c) => c.request.env)).toEqual(
      Array(3).fill({ REPORT_API_TOKEN: REPORT_TOKEN }),
    );
  });

  it('redacts a secret the code smuggles into the names of what it could not carry', async () => {
    const { f, sessionId } = await started();
    f.executor.respond = (request) =>
      sandboxResult({
        state: { carried: standInState(request), dropped: [`x_${request.env?.REPORT_API_TOKEN}`, 'sock'] },
      });
    const res = await f.run(callers.agent, sessionId);
    expect(res.body).not.toContain(REPORT_TOKEN);
    expect(body<SessionExecutionResponse>(res).state!.dropped).toEqual([
      'x_[REDACTED:REPORT_API_TOKEN]',
      'sock',
    ]);
  });

  it('writes started and completed records of each call with the session and its sequence', async () => {
    const { f, sessionId } = await started();
    await f.run(callers.agent, sessionId);
    const res = await f.run(callers.agent, sessionId);
    const { executionId } = body<SessionExecutionResponse>(res);
    const records = f.store.records.filter((r) => r.executionId === executionId);
    expect(records.map((r) => [r.event, r.session?.sessionId, r.session?.sequence])).toEqual([
      ['started', sessionId, 2],
      ['completed', sessionId, 2],
    ]);
    expect(records[1]!.session!.stateBytes).toBeGreaterThan(0);
  });

  it('answers 404 to another principal, as for an unknown session, and audits the attempt', async () => {
    const { f, sessionId } = await started('sandbox');
    for (const res of [
      await f.run(callers.other, sessionId),
      await f.show(callers.other, sessionId),
      await f.end(callers.other, sessionId),
      await f.run(callers.agent, 'ses_01HZX3K7R8M9N0P1Q2R3S4T5V6'),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(errorOf(res).code).toBe('NOT_FOUND');
    }
    expect(f.executor.calls).toHaveLength(0);
    expect(f.sessions.records.get(sessionId)).toMatchObject({ status: 'active', executions: 0 });
    const denied = f.store.records.filter((r) => r.event === 'denied');
    expect(denied.map((r) => [r.caller.principalId, r.session?.sessionId])).toEqual([
      ['other', sessionId],
      ['other', sessionId],
      ['agent', 'ses_01HZX3K7R8M9N0P1Q2R3S4T5V6'],
    ]);
  });

  it('answers 404 to an id that is not a session id, and keeps the path text out of the record', async () => {
    const { f } = await started('sandbox');
    const res = await f.run(callers.agent, `ses_${'x'.repeat(300)}`);
    expect(res.statusCode).toBe(404);
    const denied = f.store.records.filter((r) => r.event === 'denied');
    expect(denied).toHaveLength(1);
    expect(denied[0]!.session).toBeUndefined();
    expect(JSON.stringify(denied[0])).not.toContain('xxxx');
  });

  it('fails closed (503) when the session store cannot be read, and audits the refusal', async () => {
    const { f, sessionId } = await started('sandbox');
    f.sessions.get = async () => {
      throw new Error('ProvisionedThroughputExceededException');
    };
    const res = await f.run(callers.agent, sessionId);
    expect(res.statusCode).toBe(503);
    expect(f.executor.calls).toHaveLength(0);
    const denied = f.store.records.filter((r) => r.event === 'denied');
    expect(denied.map((r) => [r.decision.reason, r.session?.sessionId])).toEqual([
      ['DEPENDENCY_UNAVAILABLE', sessionId],
    ]);
  });

  it('refuses a second call while one runs (409 SESSION_BUSY), then takes the next', async () => {
    const { f, sessionId } = await started('sandbox');
    const gate = deferred<SandboxResult>();
    const entered = deferred();
    f.executor.run = async (_s, _p, request) => {
      entered.resolve();
      const result = await gate.promise;
      return { ...result, state: { carried: standInState(request), dropped: [] } };
    };
    const first = f.run(callers.agent, sessionId, 'slow()');
    await entered.promise;
    const second = await f.run(callers.agent, sessionId, 'fast()');
    expect(second.statusCode).toBe(409);
    expect(errorOf(second).code).toBe('SESSION_BUSY');
    gate.resolve(sandboxResult());
    expect((await first).statusCode).toBe(200);
    await idle();
    const third = await f.run(callers.agent, sessionId, 'again()');
    expect(body<SessionExecutionResponse>(third).sequence).toBe(2);
    expect(f.store.records.filter((r) => r.event === 'denied').map((r) => r.decision.reason)).toEqual([
      'SESSION_BUSY',
    ]);
  });

  it('takes over a call that has held the session past its timeout (a stale lock)', async () => {
    const { f, sessionId } = await started('sandbox');
    // A call that took the session and never released it (its broker died).
    await f.sessions.begin(sessionId, 'DEADCALL', f.clock.now, 1);
    expect((await f.run(callers.agent, sessionId)).statusCode).toBe(409);
    f.advance(10 + 60); // the profile's 10 s timeout and the margin
    const res = await f.run(callers.agent, sessionId);
    expect(res.statusCode).toBe(200);
    expect(body<SessionExecutionResponse>(res).sequence).toBe(2);
  });

  it('keeps the previous state when the new one is over maxStateBytes, and says so', async () => {
    const { f, sessionId } = await started('sandbox');
    await f.run(callers.agent, sessionId, 'small = 1');
    const before = f.sessions.records.get(sessionId)!.stateBytes;
    f.executor.respond = () =>
      sandboxResult({
        state: {
          carried: { files: { 'big.bin': Buffer.alloc(3 * 1024 * 1024).toString('base64') } },
          dropped: [],
        },
      });
    const res = await f.run(callers.agent, sessionId, 'big = 1');
    expect(res.statusCode).toBe(200);
    const out = body<SessionExecutionResponse>(res);
    expect(out.status).toBe('succeeded');
    expect(out.state).toMatchObject({ saved: false, bytes: before, error: { code: 'STATE_TOO_LARGE' } });
    expect(out.state!.error!.message).toMatch(/maxStateBytes of 2097152/);
    f.executor.respond = (request) =>
      sandboxResult({ state: { carried: standInState(request), dropped: [] } });
    await f.run(callers.agent, sessionId, 'next = 1');
    expect(decode(f.executor.calls[2]!.request.session?.state?.files['log.txt'])).toBe('small = 1\n');
  });

  it('fails closed when the sealed state was tampered with: nothing runs', async () => {
    const { f, sessionId } = await started('sandbox');
    await f.run(callers.agent, sessionId);
    const stored = JSON.parse(Buffer.from(f.state.objects.get(sessionId)!).toString('utf8'));
    const flipped = Buffer.from(stored.ciphertext, 'base64');
    flipped[0] = (flipped[0] as number) ^ 1;
    stored.ciphertext = flipped.toString('base64');
    f.state.objects.set(sessionId, Buffer.from(JSON.stringify(stored)));
    const res = await f.run(callers.agent, sessionId);
    expect(res.statusCode).toBe(503);
    expect(f.executor.calls).toHaveLength(1);
    const { executionId } = errorOf(res);
    expect(
      f.store.records.find((r) => r.executionId === executionId && r.event === 'completed')?.outcome,
    ).toMatchObject({
      status: 'error',
    });
    // The session is free again.
    expect(f.sessions.records.get(sessionId)!.busyWith).toBeUndefined();
  });

  it("fails closed with another session's key or state: nothing runs", async () => {
    const f = sessionFixture();
    cleanup.push(f.removeVault);
    const a = body<SessionStartResponse>(await f.start(callers.agent, { profile: 'reports' })).sessionId;
    f.advance(1);
    const b = body<SessionStartResponse>(await f.start(callers.agent, { profile: 'reports' })).sessionId;
    await f.run(callers.agent, a);
    // B's record with A's wrapped key and sealed secrets: the key is bound to A.
    const recordA = f.sessions.records.get(a)!;
    const recordB = f.sessions.records.get(b)!;
    f.sessions.records.set(b, {
      ...recordB,
      wrappedKey: recordA.wrappedKey!,
      sealedSecrets: recordA.sealedSecrets!,
    });
    const foreignKey = await f.run(callers.agent, b);
    expect(foreignKey.statusCode).toBe(503);
    expect(errorOf(foreignKey).message).toBe("The session's key did not unwrap; nothing was run.");
    // B's own key, A's state: the state is bound to A.
    f.sessions.records.set(b, { ...recordB, stateBytes: recordA.stateBytes, busyWith: undefined } as never);
    f.state.objects.set(b, f.state.objects.get(a)!);
    expect((await f.run(callers.agent, b)).statusCode).toBe(503);
    expect(f.executor.calls).toHaveLength(1);
  });
});
