/**
 * The SDK's sessions against the REAL local server (`startLocalServer`): a Python variable, a
 * Python function, a file and a JavaScript binding carried from one call to the next; what could
 * not be carried named in `state.dropped`; another principal's calls answered 404 as for an
 * unknown id; an ended session refused with CustodySessionEndedError.
 *
 * Waits for the broker's session routes (the s-broker branch): on a branch without them every call
 * here is answered 404.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustodyApiError, CustodyClient, CustodySessionEndedError } from '../../client/index.ts';
import { startTestServer, type TestServer } from '../e2e/support.ts';

let t: TestServer;
let agent: CustodyClient;
let stranger: CustodyClient;

beforeAll(async () => {
  t = await startTestServer();
  const as = (name: string) =>
    new CustodyClient({
      endpoint: t.server.url,
      region: t.server.region,
      credentials: t.identity(name),
      env: {},
    });
  agent = as('agent');
  stranger = as('stranger');
});
afterAll(async () => {
  await t?.stop();
});

describe('sessions through the SDK, against the local server', () => {
  it('carries a Python variable, a function and a file to the next call, numbering the calls', async () => {
    const session = await agent.startSession({ profile: 'sandbox', ttlSeconds: 600, purpose: 'e2e' });
    expect(session.sessionId).toMatch(/^ses_[0-9A-Z]{26}$/);
    expect(session.profile).toBe('sandbox');

    const first = await session.run({
      language: 'python',
      code: 'x = 41\ndef double(n):\n    return n * 2\nopen("note.txt", "w").write("kept")\n',
    });
    expect(first).toMatchObject({ status: 'succeeded', sessionId: session.sessionId, sequence: 1 });

    const second = await session.run({
      language: 'python',
      code: 'print(x + 1, double(x), open("note.txt").read())',
    });
    expect(second).toMatchObject({ status: 'succeeded', stdout: '42 82 kept\n', sequence: 2 });

    expect(await session.get()).toMatchObject({
      sessionId: session.sessionId,
      profile: 'sandbox',
      status: 'active',
      executions: 2,
    });
    expect((await agent.listSessions()).map((s) => s.sessionId)).toContain(session.sessionId);
    await session.end();
  });

  it('carries a JavaScript binding and a function by source', async () => {
    const session = await agent.startSession({ profile: 'sandbox' });
    await session.run({
      language: 'javascript',
      code: 'const rows = [1, 2, 3];\nfunction total(a) { return a.reduce((s, v) => s + v, 0); }',
    });
    const next = await session.run({ language: 'javascript', code: 'console.log(total(rows) * 7)' });
    expect(next).toMatchObject({ status: 'succeeded', stdout: '42\n', sequence: 2 });
    await session.end();
  });

  it('names in state.dropped what it could not carry, and the next call does not see it', async () => {
    const session = await agent.startSession({ profile: 'sandbox' });
    const first = await session.run({
      language: 'python',
      code: 'import threading\nlock = threading.Lock()\nkept = 1',
    });
    expect(first.state?.dropped).toContain('lock');
    const next = await session.run({ language: 'python', code: 'print(kept, "lock" in globals())' });
    expect(next.stdout).toBe('1 False\n');
    await session.end();
  });

  it("answers another principal's read, call and end with 404, as for an unknown id", async () => {
    const session = await agent.startSession({ profile: 'sandbox' });
    for (const attempt of [
      () => stranger.getSession(session.sessionId),
      () => stranger.runInSession(session.sessionId, { language: 'python', code: 'print(1)' }),
      () => stranger.endSession(session.sessionId),
    ]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CustodyApiError);
      expect((error as CustodyApiError).status).toBe(404);
    }
    expect((await stranger.listSessions()).map((s) => s.sessionId)).not.toContain(session.sessionId);
    expect((await session.get()).status).toBe('active');
    await session.end();
  });

  it('refuses a call to an ended session with CustodySessionEndedError', async () => {
    const session = await agent.startSession({ profile: 'sandbox' });
    await session.run({ language: 'python', code: 'x = 1' });
    expect(await session.end()).toEqual({ sessionId: session.sessionId, status: 'ended' });

    const error = await session.run({ language: 'python', code: 'print(x)' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CustodySessionEndedError);
    expect(error).toMatchObject({ status: 410, code: 'SESSION_ENDED' });
    expect(await session.get()).toMatchObject({ status: 'ended', endReason: 'deleted' });
  });
});
