import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import {
  type IncomingSignedRequest,
  type SigningIdentity,
  verifySigV4,
} from '../../../lambda/adapters/local/sigv4.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
const agent: SigningIdentity = {
  accessKeyId: 'AKIALOCALAGENT000001',
  secretAccessKey: 'agent-secret-key-0123456789abcdefghijklmn',
  sessionToken: 'agent-session-token',
};
const stranger: SigningIdentity = {
  accessKeyId: 'AKIALOCALSTRANGER001',
  secretAccessKey: 'stranger-secret-key-0123456789abcdefghijk',
};
const identities = new Map([agent, stranger].map((i) => [i.accessKeyId, i]));
const lookup = (id: string) => identities.get(id);

interface SignOptions {
  identity?: SigningIdentity;
  region?: string;
  service?: string;
  at?: Date;
  method?: string;
  path?: string;
  query?: Record<string, string | string[]>;
  body?: string;
  headers?: Record<string, string>;
  /** Whether the signer sends (and signs) x-amz-content-sha256, as the AWS SDK does by default. */
  applyChecksum?: boolean;
}

/** Signs with the AWS SDK's own signer (not ours) and returns the request as our server sees it. */
async function signed(options: SignOptions = {}): Promise<IncomingSignedRequest> {
  const identity = options.identity ?? agent;
  const signer = new SignatureV4({
    service: options.service ?? 'execute-api',
    region: options.region ?? 'us-east-1',
    sha256: Sha256,
    applyChecksum: options.applyChecksum ?? true,
    credentials: {
      accessKeyId: identity.accessKeyId,
      secretAccessKey: identity.secretAccessKey,
      ...(identity.sessionToken ? { sessionToken: identity.sessionToken } : {}),
    },
  });
  const body = options.body ?? '{"profile":"sandbox"}';
  const path = options.path ?? '/v1/executions';
  const query = options.query ?? {};
  const request = await signer.sign(
    {
      method: options.method ?? 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 8787,
      path,
      query,
      headers: { host: '127.0.0.1:8787', 'content-type': 'application/json', ...options.headers },
      body,
    },
    { signingDate: options.at ?? NOW },
  );
  const search = Object.entries(query)
    .flatMap(([k, v]) =>
      (Array.isArray(v) ? v : [v]).map((x) => `${encodeURIComponent(k)}=${encodeURIComponent(x)}`),
    )
    .join('&');
  return {
    method: request.method,
    target: search ? `${path}?${search}` : path,
    headers: Object.entries(request.headers as Record<string, string>),
    body: Buffer.from(body),
  };
}

function verify(request: IncomingSignedRequest, at: Date = NOW, region = 'us-east-1') {
  return verifySigV4(request, { lookup, clock: () => at, region });
}

function withHeader(request: IncomingSignedRequest, name: string, value: string | undefined) {
  const headers = request.headers.filter(([n]) => n.toLowerCase() !== name.toLowerCase());
  return { ...request, headers: value === undefined ? headers : [...headers, [name, value] as const] };
}

describe('SigV4 verification', () => {
  it('accepts a request signed by the AWS SDK signer with a session token', async () => {
    const result = await verify(await signed());
    expect(result).toMatchObject({ ok: true, identity: { accessKeyId: agent.accessKeyId } });
  });

  it('accepts a permanent key without a session token', async () => {
    expect((await verify(await signed({ identity: stranger }))).ok).toBe(true);
  });

  it('accepts GET requests with unsorted, encoded query parameters and path segments', async () => {
    const request = await signed({
      method: 'GET',
      path: '/v1/executions/exec-1%3Aa',
      query: { z: 'last value', a: ['2', '1'], 'k~*': "o'k" },
      body: '',
    });
    expect((await verify(request)).ok).toBe(true);
  });

  it('accepts a request signed one second inside either edge of the five-minute window', async () => {
    const request = await signed();
    expect((await verify(request, new Date(NOW.getTime() + 299_000))).ok).toBe(true);
    expect((await verify(request, new Date(NOW.getTime() - 299_000))).ok).toBe(true);
  });

  it('rejects a request with no Authorization header as missing authentication', async () => {
    const request = withHeader(await signed(), 'authorization', undefined);
    expect(await verify(request)).toMatchObject({ ok: false, code: 'MISSING_AUTHENTICATION' });
  });

  it('rejects an Authorization header without a Signature as incomplete', async () => {
    const request = await signed();
    const auth = request.headers.find(([n]) => n === 'authorization')?.[1] ?? '';
    const stripped = withHeader(request, 'authorization', auth.replace(/, Signature=[0-9a-f]+/, ''));
    expect(await verify(stripped)).toMatchObject({ ok: false, code: 'INCOMPLETE_SIGNATURE' });
  });

  it('rejects another algorithm', async () => {
    const request = withHeader(await signed(), 'authorization', 'Basic YWdlbnQ6cGFzcw==');
    expect(await verify(request)).toMatchObject({ ok: false, code: 'UNSUPPORTED_ALGORITHM' });
  });

  it('rejects a tampered body', async () => {
    const request = { ...(await signed()), body: Buffer.from('{"profile":"reports"}') };
    expect(await verify(request)).toMatchObject({ ok: false, code: 'INVALID_PAYLOAD_HASH' });
  });

  it('accepts a body hash the client computed without sending x-amz-content-sha256', async () => {
    const request = await signed({ applyChecksum: false });
    expect(request.headers.some(([n]) => n === 'x-amz-content-sha256')).toBe(false);
    expect((await verify(request)).ok).toBe(true);
  });

  it('rejects a tampered body when the client did not send x-amz-content-sha256', async () => {
    const request = await signed({ applyChecksum: false });
    expect(await verify({ ...request, body: Buffer.from('{"profile":"reports"}') })).toMatchObject({
      ok: false,
      code: 'INVALID_SIGNATURE',
    });
  });

  it('rejects a tampered signed header', async () => {
    const request = withHeader(await signed(), 'content-type', 'text/plain');
    expect(await verify(request)).toMatchObject({ ok: false, code: 'INVALID_SIGNATURE' });
  });

  it('rejects a tampered path', async () => {
    const request = { ...(await signed()), target: '/v1/executions/other' };
    expect(await verify(request)).toMatchObject({ ok: false, code: 'INVALID_SIGNATURE' });
  });

  it('rejects a signature made with the wrong secret', async () => {
    const impostor = { ...stranger, secretAccessKey: 'not-the-real-secret-0123456789abcdefghij' };
    expect(await verify(await signed({ identity: impostor }))).toMatchObject({
      ok: false,
      code: 'INVALID_SIGNATURE',
      claimedAccessKeyId: stranger.accessKeyId,
    });
  });

  it('rejects an unknown access key', async () => {
    const unknown = { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'whatever' };
    expect(await verify(await signed({ identity: unknown }))).toMatchObject({
      ok: false,
      code: 'UNKNOWN_ACCESS_KEY',
    });
  });

  it('rejects a temporary key sent without its session token, or with a wrong one', async () => {
    const noToken = await signed({ identity: { ...agent, sessionToken: undefined } as SigningIdentity });
    expect(await verify(noToken)).toMatchObject({ ok: false, code: 'INVALID_SECURITY_TOKEN' });
    const wrongToken = await signed({ identity: { ...agent, sessionToken: 'forged' } });
    expect(await verify(wrongToken)).toMatchObject({ ok: false, code: 'INVALID_SECURITY_TOKEN' });
  });

  it('rejects a session token sent with a permanent key', async () => {
    const request = await signed({ identity: { ...stranger, sessionToken: 'invented' } });
    expect(await verify(request)).toMatchObject({ ok: false, code: 'INVALID_SECURITY_TOKEN' });
  });

  it('rejects a signature scoped to another region, naming the expected one', async () => {
    const result = await verify(await signed({ region: 'eu-west-1' }));
    expect(result).toMatchObject({ ok: false, code: 'WRONG_REGION' });
    expect(!result.ok && result.message).toContain("expecting 'us-east-1'");
  });

  it('verifies against a configured region', async () => {
    expect((await verify(await signed({ region: 'eu-west-1' }), NOW, 'eu-west-1')).ok).toBe(true);
  });

  it('rejects a signature scoped to another service', async () => {
    expect(await verify(await signed({ service: 's3' }))).toMatchObject({ ok: false, code: 'WRONG_SERVICE' });
  });

  it('rejects a request signed more than five minutes ago', async () => {
    const request = await signed({ at: new Date(NOW.getTime() - 301_000) });
    expect(await verify(request)).toMatchObject({ ok: false, code: 'SIGNATURE_EXPIRED' });
  });

  it('rejects a request dated more than five minutes in the future', async () => {
    const request = await signed({ at: new Date(NOW.getTime() + 301_000) });
    expect(await verify(request)).toMatchObject({ ok: false, code: 'SIGNATURE_NOT_YET_CURRENT' });
  });

  it('rejects a malformed x-amz-date', async () => {
    const request = withHeader(await signed(), 'x-amz-date', '2026-03-01T12:00:00Z');
    expect(await verify(request)).toMatchObject({ ok: false, code: 'INVALID_DATE' });
  });

  it('rejects a credential scope date that differs from x-amz-date', async () => {
    const request = await signed();
    const auth = request.headers.find(([n]) => n === 'authorization')?.[1] ?? '';
    const other = withHeader(request, 'authorization', auth.replace('/20260301/', '/20260302/'));
    expect(await verify(other)).toMatchObject({ ok: false, code: 'WRONG_SCOPE_DATE' });
  });

  it('rejects a signature that does not cover host', async () => {
    const request = await signed();
    const auth = request.headers.find(([n]) => n === 'authorization')?.[1] ?? '';
    const other = withHeader(request, 'authorization', auth.replace(';host;', ';'));
    expect(await verify(other)).toMatchObject({ ok: false, code: 'MISSING_SIGNED_HEADER' });
  });

  it('rejects an unsigned payload', async () => {
    const request = await signed({ headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    expect(await verify(request)).toMatchObject({ ok: false, code: 'INVALID_PAYLOAD_HASH' });
  });
});

describe('SigV4 canonical forms', () => {
  it('normalizes and double-encodes the path as for every service but S3', async () => {
    const request = await signed({ method: 'GET', path: '/v1/executions/x%20y', body: '' });
    expect((await verify({ ...request, target: '/v1/./a/../executions//x%20y' })).ok).toBe(true);
    expect((await verify({ ...request, target: '/v1/executions/x%2520y' })).ok).toBe(false);
  });

  it('sorts the query by key, then value, and encodes it strictly', async () => {
    const request = await signed({ method: 'GET', query: { b: '2', a: ['y', 'x'], c: '* *' }, body: '' });
    expect((await verify({ ...request, target: '/v1/executions?b=2&a=y&a=x&c=%2A+*' })).ok).toBe(true);
    expect((await verify({ ...request, target: '/v1/executions?b=2&a=y&a=x&c=%2A' })).ok).toBe(false);
  });
});
