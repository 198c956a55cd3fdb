/**
 * Attacks on the local API's edge and body handling that the main e2e suite does not try: hostile
 * JSON shapes, execution ids dressed up by encoding, a replayed signature, and a secret the code
 * spells out in pieces. Real server, real SigV4 (the AWS SDK's signer), real sandboxes and store.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkSigned, startTestServer, type TestServer } from './support.ts';

let t: TestServer;
let executions: string;

beforeAll(async () => {
  t = await startTestServer();
  executions = `${t.server.url}/v1/executions`;
});
afterAll(async () => t?.stop());

const post = (body: string, who = 'agent') => sdkSigned({ identity: t.identity(who), url: executions, body });
const get = (path: string, who = 'agent') =>
  sdkSigned({ identity: t.identity(who), url: `${t.server.url}${path}`, method: 'GET' });
const errorCode = (res: { body: string }) =>
  (JSON.parse(res.body) as { error?: { code: string } }).error?.code;

interface RunBody {
  executionId: string;
  status: string;
  stdout: string;
  result?: string;
  role: { arn: string };
}

describe('hostile request bodies', () => {
  it('runs a body with a duplicated key as the last value, and audits the profile that ran', async () => {
    // The signature covers the raw bytes; what runs and what is audited must be the same reading.
    const res = await post(
      '{"profile":"reports","language":"javascript","code":"1","profile":"sandbox","code":"6*7"}',
    );
    expect(res.status).toBe(200);
    const run = JSON.parse(res.body) as RunBody;
    expect(run.result).toBe('42');
    expect(run.role.arn).toMatch(/custody-exec-sandbox$/);
    const records = await t.server.auditStore.get(run.executionId);
    expect(records.map((r) => r.request?.profile)).toEqual(['sandbox', 'sandbox']);
    expect(records.every((r) => r.request?.code === '6*7')).toBe(true);
  });

  it('refuses a top-level __proto__ or constructor key as an unknown field', async () => {
    for (const key of ['__proto__', 'constructor']) {
      const res = await post(
        `{"profile":"sandbox","language":"javascript","code":"1","${key}":{"profile":"reports"}}`,
      );
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).error).toMatchObject({ code: 'INVALID_REQUEST' });
      expect(JSON.parse(res.body).error.message).toContain(`"${key}": unknown field`);
    }
  });

  it('does not let a __proto__ file name pollute prototypes or smuggle a non-text file', async () => {
    const polluting = await post(
      '{"profile":"sandbox","language":"javascript","code":"files.list()","files":{"__proto__":{"polluted":"yes"}}}',
    );
    // "__proto__" is an ordinary file name (issue #12, class 6); an object other than
    // { base64 } is not a file (#16).
    expect(polluting.status).toBe(400);
    expect(JSON.parse(polluting.body).error.message).toMatch(
      /^files\.__proto__: must be a string \(UTF-8 text\) or \{ "base64"/,
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    const res = await post(
      '{"profile":"sandbox","language":"javascript","code":"JSON.stringify([files.list(), files.read(\\"constructor\\"), ({}).polluted])","files":{"constructor":"c"}}',
    );
    expect(res.status).toBe(200);
    const run = JSON.parse(res.body) as RunBody;
    expect(run.status).toBe('succeeded');
    // "constructor" is an ordinary file name, not an inherited property.
    expect(JSON.parse(JSON.parse(run.result ?? '""') as string)).toEqual([['constructor'], 'c', null]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['a parent directory', '../escape.txt'],
    ['an absolute path', '/etc/custody-escape'],
    ['a backslash path', '..\\escape.txt'],
    ['a NUL byte', 'a\u0000b'],
    ['a percent-encoded parent', '%2e%2e/escape.txt'],
  ])('refuses an input file name with %s before anything runs', async (_label, name) => {
    const res = await post(
      JSON.stringify({ profile: 'sandbox', language: 'python', code: 'print(1)', files: { [name]: 'x' } }),
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error.message).toContain('(file name)');
  });
});

describe('execution ids in GET /v1/executions/{id}', () => {
  let ownId: string;

  beforeAll(async () => {
    const res = await post(JSON.stringify({ profile: 'sandbox', language: 'javascript', code: '1' }));
    ownId = (JSON.parse(res.body) as RunBody).executionId;
  });

  it('finds the caller its own execution whether or not the id is percent-encoded', async () => {
    const encoded = [...ownId].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).join('');
    for (const path of [`/v1/executions/${ownId}`, `/v1/executions/${encoded}`]) {
      const res = await get(path);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body).executionId).toBe(ownId);
    }
  });

  it('still hides the execution from the stranger when the id is percent-encoded', async () => {
    const encoded = [...ownId].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
    for (const path of [`/v1/executions/${ownId}`, `/v1/executions/${encoded}`]) {
      const res = await get(path, 'stranger');
      expect(res.status).toBe(404);
      expect(res.body).not.toContain('"records"');
    }
  });

  it.each([
    ['an encoded slash climbing to another route', () => '/v1/executions/..%2Fprofiles'],
    ['an encoded NUL after the id', () => `/v1/executions/${ownId}%00`],
    ['a zero-width space after the id', () => `/v1/executions/${ownId}%E2%80%8B`],
    ['full-width look-alike characters', () => `/v1/executions/${encodeURIComponent(toFullWidth(ownId))}`],
    ['an id with a wildcard', () => '/v1/executions/%2A'],
  ])('answers 404 to %s, even for the owner', async (_label, path) => {
    const res = await get(path());
    expect(res.status).toBe(404);
    expect(errorCode(res)).toBe('NOT_FOUND');
  });

  it('answers 400 to a malformed percent-encoding without a stack trace', async () => {
    const res = await get('/v1/executions/%E0%A4%A');
    expect(res.status).toBe(400);
    expect(errorCode(res)).toBe('INVALID_REQUEST');
    expect(res.body).not.toMatch(/\bat .+\.ts:\d+/);
  });
});

function toFullWidth(text: string): string {
  return [...text]
    .map((c) => (/[0-9A-Za-z]/.test(c) ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c))
    .join('');
}

describe('a replayed signed request', () => {
  it('runs again inside the five-minute window as a new, separately audited execution', async () => {
    // SigV4 has no nonce: API Gateway accepts a replay inside the window too (docs/local.md).
    // What must hold is attribution: each replay is its own execution with its own records.
    const body = JSON.stringify({ profile: 'sandbox', language: 'javascript', code: '1' });
    let captured: Record<string, string> = {};
    const first = await sdkSigned({
      identity: t.identity('agent'),
      url: executions,
      body,
      tamper: (r) => {
        captured = { ...r.headers };
      },
    });
    const { host: _host, ...headers } = captured;
    const replay = await fetch(executions, { method: 'POST', headers, body });
    expect(first.status).toBe(200);
    expect(replay.status).toBe(200);
    const a = (JSON.parse(first.body) as RunBody).executionId;
    const b = ((await replay.json()) as RunBody).executionId;
    expect(a).not.toBe(b);
    for (const id of [a, b]) {
      expect((await t.server.auditStore.get(id)).map((r) => r.event)).toEqual(['started', 'completed']);
    }
  });

  it('is refused once the signature is older than five minutes', async () => {
    const res = await sdkSigned({
      identity: t.identity('agent'),
      url: executions,
      body: JSON.stringify({ profile: 'sandbox', language: 'javascript', code: '1' }),
      signingDate: new Date(Date.now() - 6 * 60 * 1000),
    });
    expect(res.status).toBe(403);
    expect(errorCode(res)).toBe('SIGNATURE_EXPIRED');
  });
});

describe('a secret the code writes out in pieces', () => {
  const secret = () =>
    (JSON.parse(readFileSync(t.server.paths.secretsFile, 'utf8')) as Record<string, string>)[
      'custody/reports/api-token'
    ] as string;
  const runReports = async (code: string) => {
    const res = await post(JSON.stringify({ profile: 'reports', language: 'python', code }));
    expect(res.status).toBe(200);
    return { body: res.body, run: JSON.parse(res.body) as RunBody };
  };

  it('is redacted when two writes join in the output, on stdout and stderr', async () => {
    const { body, run } = await runReports(
      [
        'import os, sys',
        't = os.environ["REPORT_API_TOKEN"]',
        'sys.stdout.write(t[:7]); sys.stdout.flush(); sys.stdout.write(t[7:] + "\\n")',
        'print(t[:5], end=""); print(t[5:], file=sys.stdout)',
        'sys.stderr.write(t[:3]); sys.stderr.write(t[3:])',
      ].join('\n'),
    );
    expect(run.status).toBe('succeeded');
    expect(body).not.toContain(secret());
    expect(run.stdout).toContain('[REDACTED:REPORT_API_TOKEN]');
  });

  it('cannot be redacted when the code spells it one character per line: a documented residual risk', async () => {
    // docs/sandbox.md "Residual risks": redaction matches values, not intent. This test pins the
    // limit so the docs stay true; what must still hold is that no audit store or log gets it.
    const { body, run } = await runReports(
      'import os\nfor c in os.environ["REPORT_API_TOKEN"]:\n    print(c)',
    );
    expect(body).not.toContain(secret());
    expect(run.stdout.replaceAll('\n', '')).toBe(secret());
    const records = await t.server.auditStore.get(run.executionId);
    expect(records[1]?.outcome?.outputSha256).toMatch(/^[0-9a-f]{64}$/);
    const spelled = JSON.stringify(run.stdout).slice(1, -1);
    expect(JSON.stringify(records)).not.toContain(spelled);
    expect(readFileSync(t.server.paths.auditLog, 'utf8')).not.toContain(spelled);
  });
});
