/**
 * Sessions end to end on the local stack with the REAL sandboxes (Pyodide in Deno, QuickJS): a
 * Python variable, a Python function, a JavaScript binding and a file carried from call 1 to call
 * 2 of a session, then the session ended and its state gone.
 *
 * The sandbox half (restoring `request.session.state`, returning `state.carried`) is built in the
 * same change as the broker half (#15); this suite passes once both are merged.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionExecutionResponse, SessionStartResponse } from '../../lambda/core/api-schema.ts';
import { sdkSigned, startTestServer, type TestServer } from './support.ts';

describe('sessions with the real sandboxes', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
    await t.server.pythonReady;
  }, 180_000);
  afterAll(() => t?.stop());

  const call = async (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => {
    const res = await sdkSigned({
      identity: t.identity('agent'),
      url: `${t.server.url}${path}`,
      method,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: JSON.parse(res.body) };
  };
  const start = async () => {
    const res = await call('POST', '/v1/sessions', { profile: 'sandbox' });
    expect(res.status).toBe(201);
    return (res.body as SessionStartResponse).sessionId;
  };
  const run = async (sessionId: string, language: string, code: string) => {
    const res = await call('POST', `/v1/sessions/${sessionId}/executions`, { language, code });
    expect(res.status).toBe(200);
    return res.body as SessionExecutionResponse;
  };

  it('carries a Python variable, a Python function and a file from one call to the next', async () => {
    const sessionId = await start();
    const first = await run(
      sessionId,
      'python',
      [
        'total = 41',
        'def double(x):',
        '    return 2 * x',
        "with open('notes.txt', 'w') as f:",
        "    f.write('kept across calls')",
      ].join('\n'),
    );
    expect(first).toMatchObject({ status: 'succeeded', sequence: 1, state: { saved: true } });
    const second = await run(
      sessionId,
      'python',
      ['print(total + 1)', 'print(double(21))', "print(open('notes.txt').read())"].join('\n'),
    );
    expect(second).toMatchObject({ status: 'succeeded', sequence: 2 });
    expect(second.stdout).toBe('42\n42\nkept across calls\n');

    expect((await call('DELETE', `/v1/sessions/${sessionId}`)).status).toBe(200);
    expect(existsSync(join(t.home, 'sessions', sessionId))).toBe(false);
    expect(
      (await call('POST', `/v1/sessions/${sessionId}/executions`, { language: 'python', code: '1' })).status,
    ).toBe(410);
  }, 120_000);

  it('carries a JavaScript binding from one call to the next', async () => {
    const sessionId = await start();
    const first = await run(sessionId, 'javascript', 'const greeting = "hello"; let count = 2;');
    expect(first).toMatchObject({ status: 'succeeded', sequence: 1 });
    const second = await run(sessionId, 'javascript', 'console.log(greeting + " x" + (count + 1))');
    expect(second.stdout).toBe('hello x3\n');
  }, 60_000);
});
