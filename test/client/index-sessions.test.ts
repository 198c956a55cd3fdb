/**
 * The SDK's session calls against a loopback server that checks every signature with the local
 * server's SigV4 verifier: the method, path and body each call sends, and how the API's refusals
 * (404, 409 SESSION_BUSY, 410 SESSION_ENDED) come back. test/client/session.e2e.test.ts runs the
 * same calls against the real local server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CustodyApiError,
  CustodyClient,
  CustodySession,
  CustodySessionBusyError,
  CustodySessionEndedError,
} from '../../client/index.ts';
import { type SignedStub, STUB_CREDENTIALS, STUB_REGION, startSignedStub } from '../support/signed-stub.ts';

let stub: SignedStub;
beforeAll(async () => {
  stub = await startSignedStub();
});
afterAll(() => stub.close());

const ID = 'ses_01JF3Z8Y5K9M2N4P6Q7R8S9T0V';
const STARTED = {
  sessionId: ID,
  profile: 'sandbox',
  expiresAt: '2026-12-03T16:00:00.000Z',
  secretVariables: ['API_KEY'],
};
const RAN = {
  executionId: 'e2',
  status: 'succeeded',
  stdout: '42\n',
  stderr: '',
  durationMs: 12,
  truncated: false,
  codeSha256: 'c0de',
  outputSha256: '0u7',
  role: { arn: 'arn:aws:sts::000000000000:assumed-role/r/s', sessionName: 's' },
  sessionId: ID,
  sequence: 2,
  state: { bytes: 120, dropped: ['conn'] },
};

function client(path = '/prod') {
  return new CustodyClient({
    endpoint: `${stub.url}${path}`,
    region: STUB_REGION,
    credentials: STUB_CREDENTIALS,
    env: {},
  });
}

function last() {
  const request = stub.seen.at(-1);
  if (!request) throw new Error('no request reached the stub');
  return { ...request, json: request.body === '' ? undefined : (JSON.parse(request.body) as unknown) };
}

describe('CustodyClient sessions', () => {
  it('starts a session with a signed POST /v1/sessions and returns a handle that serializes to the answer', async () => {
    stub.reply = { status: 201, body: STARTED };
    const session = await client().startSession({
      profile: 'sandbox',
      ttlSeconds: 900,
      purpose: 'exposure report',
    });

    expect(last()).toMatchObject({ method: 'POST', target: '/prod/v1/sessions', verified: true });
    expect(last().json).toEqual({ profile: 'sandbox', ttlSeconds: 900, purpose: 'exposure report' });
    expect(session).toBeInstanceOf(CustodySession);
    expect(JSON.parse(JSON.stringify(session))).toEqual(STARTED);
  });

  it('runs code in the session: POST /v1/sessions/{id}/executions, with no profile in the body', async () => {
    stub.reply = { status: 201, body: STARTED };
    const session = await client().startSession({ profile: 'sandbox' });
    stub.reply = { status: 200, body: RAN };

    const out = await session.run({ language: 'python', code: 'print(x + 1)', files: { 'a.csv': '1' } });

    expect(out).toEqual(RAN);
    expect(last()).toMatchObject({
      method: 'POST',
      target: `/prod/v1/sessions/${ID}/executions`,
      verified: true,
    });
    expect(last().json).toEqual({ language: 'python', code: 'print(x + 1)', files: { 'a.csv': '1' } });
  });

  it('reads, lists and ends sessions with signed GET, GET and DELETE', async () => {
    const summary = {
      sessionId: ID,
      profile: 'sandbox',
      status: 'active',
      createdAt: '2026-12-03T15:00:00.000Z',
      expiresAt: STARTED.expiresAt,
      executions: 2,
      stateBytes: 120,
    };
    stub.reply = { status: 200, body: summary };
    expect(await client().getSession(ID)).toEqual(summary);
    expect(last()).toMatchObject({
      method: 'GET',
      target: `/prod/v1/sessions/${ID}`,
      verified: true,
      body: '',
    });

    stub.reply = { status: 200, body: { sessions: [summary] } };
    expect(await client().listSessions()).toEqual([summary]);
    expect(last()).toMatchObject({ method: 'GET', target: '/prod/v1/sessions', verified: true });

    stub.reply = { status: 200, body: { sessionId: ID, status: 'ended' } };
    expect(await client().endSession(ID)).toEqual({ sessionId: ID, status: 'ended' });
    expect(last()).toMatchObject({
      method: 'DELETE',
      target: `/prod/v1/sessions/${ID}`,
      verified: true,
      body: '',
    });
  });

  it('encodes a hostile session id into one path segment, still signed correctly', async () => {
    stub.reply = { status: 404, body: { error: { code: 'NOT_FOUND', message: 'no such session' } } };
    await client('')
      .endSession('../executions/x?y')
      .catch(() => undefined);
    expect(last()).toMatchObject({
      method: 'DELETE',
      target: '/v1/sessions/..%2Fexecutions%2Fx%3Fy',
      verified: true,
    });
  });

  it('rejects a call to an ended session with CustodySessionEndedError (410 SESSION_ENDED)', async () => {
    stub.reply = {
      status: 410,
      headers: { 'x-amzn-requestid': 'req-410' },
      body: { error: { code: 'SESSION_ENDED', message: 'session ses_x ended (deleted)', executionId: 'e7' } },
    };
    const error = await client()
      .runInSession(ID, { language: 'python', code: 'x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CustodySessionEndedError);
    expect(error).toBeInstanceOf(CustodyApiError);
    expect(error).toMatchObject({
      name: 'CustodySessionEndedError',
      status: 410,
      code: 'SESSION_ENDED',
      message: 'session ses_x ended (deleted)',
      executionId: 'e7',
      requestId: 'req-410',
    });
  });

  it('rejects a second call at once with CustodySessionBusyError (409 SESSION_BUSY)', async () => {
    stub.reply = {
      status: 409,
      body: { error: { code: 'SESSION_BUSY', message: 'another call is running' } },
    };
    const error = await client()
      .runInSession(ID, { language: 'javascript', code: '1' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CustodySessionBusyError);
    expect(error).toMatchObject({ status: 409, code: 'SESSION_BUSY', message: 'another call is running' });
  });

  it("keeps a 404 (unknown, or another principal's session) a plain CustodyApiError with its code", async () => {
    stub.reply = { status: 404, body: { error: { code: 'NOT_FOUND', message: 'no session ses_y' } } };
    const error = await client()
      .getSession('ses_y')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CustodyApiError);
    expect(error).not.toBeInstanceOf(CustodySessionEndedError);
    expect(error).toMatchObject({ status: 404, code: 'NOT_FOUND', message: 'no session ses_y' });
  });

  it('maps by status and code together: a 410 with another code stays a CustodyApiError', async () => {
    stub.reply = { status: 410, body: { error: { code: 'GONE', message: 'gone' } } };
    const error = await client()
      .endSession(ID)
      .catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(CustodySessionEndedError);
    expect(error).toMatchObject({ status: 410, code: 'GONE' });
  });
});
