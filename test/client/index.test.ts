import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CustodyApiError,
  CustodyClient,
  CustodyConfigError,
  CustodyCredentialsError,
  CustodyNetworkError,
  describeError,
  parseEndpoint,
  resolveRegion,
} from '../../client/index.ts';
import { verifySigV4 } from '../../lambda/adapters/local/sigv4.ts';

const credentials = {
  accessKeyId: 'AKIACLIENTTEST000001',
  secretAccessKey: 'client-test-secret-0123456789abcdefghijkl',
  sessionToken: 'client-test-token',
};

interface Seen {
  method: string;
  target: string;
  verified: boolean;
  body: string;
}

let server: Server;
let base: string;
const seen: Seen[] = [];
/** What the stub answers next: status, headers, body. */
let reply: { status: number; headers?: Record<string, string>; body: string } = { status: 200, body: '{}' };

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const raw = req.rawHeaders;
      const headers: [string, string][] = [];
      for (let i = 0; i < raw.length; i += 2) headers.push([raw[i] as string, raw[i + 1] as string]);
      const result = await verifySigV4(
        { method: req.method ?? '', target: req.url ?? '/', headers, body },
        { region: 'eu-west-1', lookup: (id) => (id === credentials.accessKeyId ? credentials : undefined) },
      );
      seen.push({
        method: req.method ?? '',
        target: req.url ?? '',
        verified: result.ok,
        body: body.toString(),
      });
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function client(endpoint = `${base}/prod`) {
  return new CustodyClient({ endpoint, region: 'eu-west-1', credentials, env: {} });
}

describe('CustodyClient', () => {
  it('signs an execution with SigV4 for execute-api under the endpoint stage path', async () => {
    reply = { status: 200, body: JSON.stringify({ executionId: 'e1', status: 'succeeded', stdout: 'hi\n' }) };
    const out = await client().execute({ profile: 'sandbox', language: 'python', code: 'print("hi")' });
    expect(out).toMatchObject({ executionId: 'e1', status: 'succeeded' });
    const last = seen.at(-1);
    expect(last).toMatchObject({ method: 'POST', target: '/prod/v1/executions', verified: true });
    expect(JSON.parse(last?.body ?? '')).toEqual({
      profile: 'sandbox',
      language: 'python',
      code: 'print("hi")',
    });
  });

  it('encodes the execution id into the path and still signs correctly', async () => {
    reply = { status: 200, body: JSON.stringify({ executionId: 'a b/c', records: [] }) };
    await client().getExecution('a b/c');
    expect(seen.at(-1)).toMatchObject({
      method: 'GET',
      target: '/prod/v1/executions/a%20b%2Fc',
      verified: true,
    });
  });

  it('returns the profile list', async () => {
    reply = { status: 200, body: JSON.stringify({ profiles: [{ name: 'sandbox' }] }) };
    expect(await client(base).listProfiles()).toEqual([{ name: 'sandbox' }]);
    expect(seen.at(-1)?.target).toBe('/v1/profiles');
  });

  it("turns the API's error body into a CustodyApiError with its code and execution id", async () => {
    reply = {
      status: 403,
      headers: { 'x-amzn-requestid': 'req-1' },
      body: JSON.stringify({ error: { code: 'NO_GRANT', message: 'no grant', executionId: 'e9' } }),
    };
    const error = await client()
      .execute({ profile: 'x', language: 'python', code: '1' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CustodyApiError);
    expect(error).toMatchObject({
      status: 403,
      code: 'NO_GRANT',
      message: 'no grant',
      executionId: 'e9',
      requestId: 'req-1',
    });
  });

  it("understands API Gateway's own refusals ({ message } and x-amzn-ErrorType)", async () => {
    reply = {
      status: 403,
      headers: { 'x-amzn-errortype': 'InvalidSignatureException:http://internal.amazon.com/coral/x/' },
      body: JSON.stringify({ message: 'Signature expired' }),
    };
    await expect(client().listProfiles()).rejects.toMatchObject({
      code: 'InvalidSignatureException',
      message: 'Signature expired',
    });
  });

  it('says when the server is not running', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const closed = new CustodyClient({ endpoint: `http://127.0.0.1:${port}`, credentials, env: {} });
    await expect(closed.listProfiles()).rejects.toThrow(CustodyNetworkError);
    await expect(closed.listProfiles()).rejects.toThrow(/connection refused \(is the server running/);
  });

  it('says when there are no credentials, before sending anything', async () => {
    const before = seen.length;
    const anonymous = new CustodyClient({
      endpoint: base,
      env: {},
      credentials: async () => {
        throw new Error('Could not load credentials from any providers');
      },
    });
    await expect(anonymous.listProfiles()).rejects.toThrow(CustodyCredentialsError);
    expect(seen.length).toBe(before);
  });

  it('needs an endpoint, from the options or CUSTODY_ENDPOINT', () => {
    expect(() => new CustodyClient({ credentials, env: {} })).toThrow(CustodyConfigError);
    expect(new CustodyClient({ credentials, env: { CUSTODY_ENDPOINT: base } }).endpoint.origin).toBe(base);
  });

  it('refuses an endpoint that is not an http(s) URL, naming it', () => {
    expect(() => parseEndpoint('127.0.0.1:8787')).toThrow(/endpoint "127.0.0.1:8787"/);
    expect(() => parseEndpoint('ftp://example.com')).toThrow(/must be an http or https URL/);
  });
});

describe('Region resolution', () => {
  const api = new URL('https://abc123.execute-api.eu-central-1.amazonaws.com/prod');
  it('reads the region of a deployed API from its host name', () => {
    expect(resolveRegion(api, undefined, { AWS_REGION: 'us-west-2' })).toBe('eu-central-1');
  });
  it('prefers the explicit region, then CUSTODY_REGION', () => {
    expect(resolveRegion(api, 'ap-south-1', { CUSTODY_REGION: 'us-west-2' })).toBe('ap-south-1');
    expect(resolveRegion(api, undefined, { CUSTODY_REGION: 'us-west-2' })).toBe('us-west-2');
  });
  it('falls back to AWS_REGION, then us-east-1, for other hosts', () => {
    const local = new URL('http://127.0.0.1:8787');
    expect(resolveRegion(local, undefined, { AWS_REGION: 'us-west-2' })).toBe('us-west-2');
    expect(resolveRegion(local, undefined, {})).toBe('us-east-1');
  });
});

describe('describeError', () => {
  it('puts name and message before a traceback that lacks them', () => {
    expect(describeError({ name: 'TypeError', message: 'bad', traceback: '    at main.js:1' })).toBe(
      'TypeError: bad\n    at main.js:1',
    );
    expect(describeError({ name: 'E', message: 'm', traceback: 'Traceback...\nE: m' })).toBe(
      'Traceback...\nE: m',
    );
  });

  it("prints a Python syntax error once, though its message adds the line the traceback's last line lacks", () => {
    const traceback = '  File "main.py", line 1\n    def f(:\n          ^\nSyntaxError: invalid syntax\n';
    expect(
      describeError({ name: 'SyntaxError', message: 'invalid syntax (main.py, line 1)', traceback }),
    ).toBe(traceback.trimEnd());
  });
});
