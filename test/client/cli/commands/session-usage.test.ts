/**
 * `custody session` before and around the network: the flags and ids it refuses before anything is
 * sent (exit 2, naming what is wrong), the request each subcommand sends (checked by a loopback
 * server with the local server's SigV4 verifier), how it prints the answers (server text escaped for
 * the terminal) and the exit codes of the API's 404/409/410. test/client/cli/commands/session.test.ts
 * runs the same commands against the real local server.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseTtl } from '../../../../client/cli/commands/session.ts';
import { EXIT } from '../../../../client/cli/exit-codes.ts';
import { runCli } from '../../../support/cli.ts';
import {
  type SignedStub,
  STUB_CREDENTIALS,
  STUB_REGION,
  startSignedStub,
} from '../../../support/signed-stub.ts';

const ID = 'ses_01JF3Z8Y5K9M2N4P6Q7R8S9T0V';
const ESC = '\u001b]0;owned\u0007';

let stub: SignedStub;
let cwd: string;
beforeAll(async () => {
  stub = await startSignedStub();
  cwd = mkdtempSync(join(tmpdir(), 'custody-cli-session-'));
  writeFileSync(join(cwd, 'step.py'), 'x = 41\n');
  writeFileSync(join(cwd, 'data.csv'), 'a\n1\n');
  const home = join(cwd, '.custody');
  mkdirSync(home);
  writeFileSync(
    join(home, 'credentials'),
    `[agent]\naws_access_key_id = ${STUB_CREDENTIALS.accessKeyId}\naws_secret_access_key = ${STUB_CREDENTIALS.secretAccessKey}\naws_session_token = ${STUB_CREDENTIALS.sessionToken}\n`,
  );
  writeFileSync(
    join(home, 'local.json'),
    JSON.stringify({
      apiEndpoint: stub.url,
      dynamodbEndpoint: 'http://127.0.0.1:9',
      auditTableName: 'custody-audit',
      region: STUB_REGION,
      credentialsFile: join(home, 'credentials'),
      auditLog: join(home, 'audit.log'),
    }),
  );
});
afterAll(async () => {
  await stub.close();
  rmSync(cwd, { recursive: true, force: true });
});
beforeEach(() => {
  stub.seen.length = 0;
});

/** A local stack that points at the stub, with the stub's key as the `agent` identity. */
function env(): NodeJS.ProcessEnv {
  return { CUSTODY_HOME: join(cwd, '.custody'), AWS_PROFILE: 'agent', AWS_EC2_METADATA_DISABLED: 'true' };
}

function custody(args: string[], stdin?: string) {
  return runCli(args, { env: env(), cwd, ...(stdin !== undefined ? { stdin } : {}) });
}

function sent() {
  const request = stub.seen.at(-1);
  if (!request) throw new Error('nothing was sent');
  return { ...request, json: request.body === '' ? undefined : (JSON.parse(request.body) as unknown) };
}

describe('custody session: what it refuses before sending anything', () => {
  it.each([
    [['session', 'start'], 'custody session start: --profile is required (see custody profiles)'],
    [
      ['session', 'start', '--profile', 'sandbox', '--ttl', 'soon'],
      '--ttl: "soon" must be a whole number of seconds (or 15m, 2h) from 60 to 28800',
    ],
    [['session', 'start', '--profile', 'sandbox', '--ttl', '59'], '--ttl: "59" must be'],
    [['session', 'start', '--profile', 'sandbox', '--ttl', '9h'], '--ttl: "9h" must be'],
    [['session', 'run'], 'custody session run: expects exactly one SESSION_ID (see custody session list)'],
    [['session', 'run', 'abc', '-l', 'py', '-c', 'x'], 'custody session run: "abc" is not a session id'],
    [['session', 'run', ID], 'custody session run: no code: pass -c CODE, a FILE, or pipe the code on stdin'],
    [['session', 'run', ID, '-c', 'x'], '--language is required with -c or stdin'],
    [
      ['session', 'run', ID, 'step.py', '-c', 'x'],
      'custody session run: give the code either with -c or as FILE, not both',
    ],
    [['session', 'run', ID, '-l', 'cobol', '-c', 'x'], '--language: "cobol" is not one of'],
    [
      ['session', 'run', ID, '-l', 'py', '-c', 'x', '--timeout-ms', '5'],
      '--timeout-ms: "5" must be an integer of at least 100',
    ],
    [
      ['session', 'run', ID, '-l', 'py', '-c', 'x', '--input', 'missing.csv'],
      '--input missing.csv: cannot read',
    ],
    [['session', 'show'], 'custody session show: expects exactly one SESSION_ID'],
    [['session', 'show', ID, ID], 'custody session show: expects exactly one SESSION_ID'],
    [['session', 'end'], 'custody session end: expects exactly one SESSION_ID'],
    [
      ['session', 'end', `ses_${ESC}`],
      'custody session end: "ses_\\u001b]0;owned\\u0007" is not a session id',
    ],
    [['session', 'stop'], 'custody session: unknown subcommand "stop" (start, run, show, list, end)'],
  ])('custody %j: exit 2, saying what is wrong', async (args, message) => {
    const out = await custody(args);
    expect(out.stderr).toContain(message);
    expect(out.code).toBe(EXIT.usage);
    expect(stub.seen).toEqual([]);
  });

  it('reads --ttl as seconds, or minutes and hours', () => {
    expect(parseTtl('900')).toBe(900);
    expect(parseTtl('900s')).toBe(900);
    expect(parseTtl('15m')).toBe(900);
    expect(parseTtl('8h')).toBe(28_800);
    expect(() => parseTtl('1.5h')).toThrow(/--ttl/);
    expect(() => parseTtl('-60')).toThrow(/--ttl/);
  });
});

describe('custody session: requests and answers', () => {
  it('start sends profile, ttl and purpose, prints the id alone on stdout and the rest on stderr', async () => {
    stub.reply = {
      status: 201,
      body: {
        sessionId: ID,
        profile: 'sandbox',
        expiresAt: '2026-12-03T16:00:00.000Z',
        secretVariables: ['API_KEY'],
      },
    };
    const out = await custody([
      'session',
      'start',
      '--profile',
      'sandbox',
      '--ttl',
      '15m',
      '--purpose',
      'report',
    ]);

    expect(out.code, out.stderr).toBe(EXIT.succeeded);
    expect(sent()).toMatchObject({ method: 'POST', target: '/v1/sessions', verified: true });
    expect(sent().json).toEqual({ profile: 'sandbox', ttlSeconds: 900, purpose: 'report' });
    expect(out.stdout).toBe(`${ID}\n`);
    expect(out.stderr).toBe(
      'custody: session started · profile sandbox · expires 2026-12-03T16:00:00.000Z · secrets: API_KEY\n',
    );
  });

  it('start --json prints the answer alone', async () => {
    const answer = {
      sessionId: ID,
      profile: 'sandbox',
      expiresAt: '2026-12-03T16:00:00.000Z',
      secretVariables: [],
    };
    stub.reply = { status: 201, body: answer };
    const out = await custody(['session', 'start', '--profile', 'sandbox', '--json']);
    expect(JSON.parse(out.stdout)).toEqual(answer);
    expect(out.stderr).toBe('');
  });

  it("run sends the file's code and language with no profile, prints like custody run, and names what was dropped", async () => {
    stub.reply = {
      status: 200,
      body: {
        executionId: 'e2',
        status: 'succeeded',
        stdout: '42\n',
        stderr: '',
        durationMs: 12.4,
        truncated: false,
        codeSha256: 'c0de',
        outputSha256: '0u7',
        role: { arn: 'arn:aws:sts::000000000000:assumed-role/r/s', sessionName: 'agent@e2' },
        sessionId: ID,
        sequence: 2,
        state: { bytes: 120, dropped: ['conn', `gen\n${ESC}`] },
      },
    };
    const out = await custody([
      'session',
      'run',
      ID,
      'step.py',
      '--input',
      'data.csv',
      '--purpose',
      'step 2',
    ]);

    expect(out.code, out.stderr).toBe(EXIT.succeeded);
    expect(sent()).toMatchObject({ method: 'POST', target: `/v1/sessions/${ID}/executions`, verified: true });
    expect(sent().json).toEqual({
      language: 'python',
      code: 'x = 41\n',
      purpose: 'step 2',
      files: { 'data.csv': 'a\n1\n' },
    });
    expect(out.stdout).toBe('42\n');
    expect(out.stderr).toBe(
      [
        `custody: succeeded in 12 ms · execution e2 · role session agent@e2 (arn:aws:sts::000000000000:assumed-role/r/s) · session ${ID} call 2 · state 120 bytes`,
        'custody: not carried to the next call (could not be kept): conn, gen\\u000a\\u001b]0;owned\\u0007',
        '',
      ].join('\n'),
    );
  });

  it("run reads stdin and exits with the code's status", async () => {
    stub.reply = {
      status: 200,
      body: {
        executionId: 'e3',
        status: 'failed',
        stdout: '',
        stderr: '',
        error: { name: 'NameError', message: "name 'y' is not defined", traceback: '' },
        durationMs: 3,
        truncated: false,
        codeSha256: 'c0de',
        outputSha256: '0u7',
        role: { arn: 'arn', sessionName: 's' },
        sessionId: ID,
        sequence: 3,
      },
    };
    const out = await custody(['session', 'run', ID, '-', '-l', 'py'], 'print(y)');
    expect(sent().json).toEqual({ language: 'python', code: 'print(y)' });
    expect(out.code).toBe(EXIT.failed);
    expect(out.stderr).toContain("NameError: name 'y' is not defined\n");
  });

  it('show prints the summary, escaping what the server sent', async () => {
    stub.reply = {
      status: 200,
      body: {
        sessionId: ID,
        // A forged line and a terminal escape: both printed as \uXXXX, on the one line.
        profile: `sandbox\nstatus      active${ESC}`,
        status: 'ended',
        createdAt: '2026-12-03T15:00:00.000Z',
        expiresAt: '2026-12-03T16:00:00.000Z',
        executions: 2,
        stateBytes: 0,
        endedAt: '2026-12-03T15:30:00.000Z',
        endReason: 'deleted',
      },
    };
    const out = await custody(['session', 'show', ID]);
    expect(sent()).toMatchObject({ method: 'GET', target: `/v1/sessions/${ID}`, verified: true });
    expect(out.code).toBe(EXIT.succeeded);
    expect(out.stdout).toBe(
      [
        `session     ${ID}`,
        'profile     sandbox\\u000astatus      active\\u001b]0;owned\\u0007',
        'status      ended',
        'created     2026-12-03T15:00:00.000Z',
        'expires     2026-12-03T16:00:00.000Z',
        'executions  2',
        'state       0 bytes',
        'ended       2026-12-03T15:30:00.000Z (deleted)',
        '',
      ].join('\n'),
    );
  });

  it('list prints one line a session, or says there is none', async () => {
    stub.reply = {
      status: 200,
      body: {
        sessions: [
          {
            sessionId: ID,
            profile: 'sandbox',
            status: 'active',
            createdAt: '2026-12-03T15:00:00.000Z',
            expiresAt: '2026-12-03T16:00:00.000Z',
            executions: 2,
            stateBytes: 120,
          },
        ],
      },
    };
    const out = await custody(['session', 'list']);
    expect(sent()).toMatchObject({ method: 'GET', target: '/v1/sessions', verified: true });
    expect(out.stdout).toBe(
      `${ID}  active   sandbox              2 calls  expires 2026-12-03T16:00:00.000Z\n`,
    );

    stub.reply = { status: 200, body: { sessions: [] } };
    expect((await custody(['session', 'list'])).stdout).toBe('No sessions.\n');
  });

  it('end sends DELETE and says the session ended', async () => {
    stub.reply = { status: 200, body: { sessionId: ID, status: 'ended' } };
    const out = await custody(['session', 'end', ID]);
    expect(sent()).toMatchObject({
      method: 'DELETE',
      target: `/v1/sessions/${ID}`,
      verified: true,
      body: '',
    });
    expect(out).toEqual({ code: EXIT.succeeded, stdout: `session ${ID} ended\n`, stderr: '' });
  });

  it.each([
    [404, 'NOT_FOUND', 'no session', EXIT.rejected],
    [409, 'SESSION_BUSY', 'another call of this session is running', EXIT.rejected],
    [410, 'SESSION_ENDED', 'the session ended (deleted)', EXIT.rejected],
    [403, 'KILL_SWITCH', 'the profile is revoked', EXIT.denied],
  ])('an API %i %s exits %i with the code and message on stderr', async (status, code, message, exit) => {
    stub.reply = { status, body: { error: { code, message } } };
    const out = await custody(['session', 'run', ID, '-l', 'js', '-c', '1']);
    expect(out.code).toBe(exit);
    expect(out.stdout).toBe('');
    expect(out.stderr).toBe(`custody: ${status === 403 ? 'denied' : 'rejected'}, ${code}: ${message}\n`);
  });
});

describe('custody session --help', () => {
  it.each([
    ['session start', '--ttl'],
    ['session run', 'SESSION_ID'],
    ['session show', 'SESSION_ID'],
    ['session list', '--json'],
    ['session end', 'SESSION_ID'],
  ])('custody %s --help prints its own usage', async (command, option) => {
    const out = await custody([...command.split(' '), '--help']);
    expect(out.code).toBe(EXIT.succeeded);
    expect(out.stdout).toContain(`Usage: custody ${command} `);
    expect(out.stdout).toContain(option);
    expect(stub.seen).toEqual([]);
  });

  it('custody --help lists the session commands', async () => {
    const out = await custody(['--help']);
    expect(out.stdout).toContain('custody session start --profile NAME [--ttl SECONDS|Nm|Nh]');
    expect(out.stdout).toContain('custody session run SESSION_ID [FILE]');
    expect(readFileSync(join(cwd, 'step.py'), 'utf8')).toBe('x = 41\n');
  });
});
