/**
 * SigV4 verification at its edges: the exact five-minute boundary, headers repeated after signing,
 * a body hash header that disagrees with the body, and a second Authorization header.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import {
  type IncomingSignedRequest,
  type SigningIdentity,
  sha256Hex,
  verifySigV4,
} from '../../../lambda/adapters/local/sigv4.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
const agent: SigningIdentity = {
  accessKeyId: 'AKIALOCALAGENT000001',
  secretAccessKey: 'agent-secret-key-0123456789abcdefghijklmn',
  sessionToken: 'agent-session-token',
};
const other: SigningIdentity = {
  accessKeyId: 'AKIALOCALOTHER000001',
  secretAccessKey: 'other-secret-key-0123456789abcdefghijklmn',
};
const lookup = (id: string) => [agent, other].find((i) => i.accessKeyId === id);
const BODY = '{"profile":"sandbox"}';

async function signed(identity: SigningIdentity = agent, body = BODY): Promise<IncomingSignedRequest> {
  const signer = new SignatureV4({
    service: 'execute-api',
    region: 'us-east-1',
    sha256: Sha256,
    credentials: identity,
  });
  const request = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 8787,
      path: '/v1/executions',
      headers: { host: '127.0.0.1:8787', 'content-type': 'application/json' },
      body,
    },
    { signingDate: NOW },
  );
  return {
    method: 'POST',
    target: '/v1/executions',
    headers: Object.entries(request.headers as Record<string, string>),
    body: Buffer.from(body),
  };
}

const verify = (request: IncomingSignedRequest, at = NOW) =>
  verifySigV4(request, { lookup, clock: () => at });
const header = (request: IncomingSignedRequest, name: string) =>
  request.headers.find(([n]) => n === name)?.[1] ?? '';
const appended = (request: IncomingSignedRequest, name: string, value: string) => ({
  ...request,
  headers: [...request.headers, [name, value] as const],
});
const replaced = (request: IncomingSignedRequest, name: string, value: string) => ({
  ...request,
  headers: request.headers.map(([n, v]) => [n, n === name ? value : v] as const),
});

describe('SigV4 verification at the five-minute boundary', () => {
  it('accepts a request exactly five minutes old or five minutes ahead, as API Gateway does', async () => {
    const request = await signed();
    expect((await verify(request, new Date(NOW.getTime() + 300_000))).ok).toBe(true);
    expect((await verify(request, new Date(NOW.getTime() - 300_000))).ok).toBe(true);
  });

  it('refuses it one millisecond past either edge', async () => {
    const request = await signed();
    expect(await verify(request, new Date(NOW.getTime() + 300_001))).toMatchObject({
      ok: false,
      code: 'SIGNATURE_EXPIRED',
    });
    expect(await verify(request, new Date(NOW.getTime() - 300_001))).toMatchObject({
      ok: false,
      code: 'SIGNATURE_NOT_YET_CURRENT',
    });
  });
});

describe('SigV4 verification of headers repeated after signing', () => {
  it('refuses a second x-amz-date that would move the request inside the window', async () => {
    const request = appended(await signed(), 'X-Amz-Date', '20260301T120000Z');
    expect(await verify(request)).toMatchObject({ ok: false, code: 'INVALID_DATE' });
  });

  it('refuses a signed header repeated with another value', async () => {
    const request = appended(await signed(), 'content-type', 'text/plain');
    expect(await verify(request)).toMatchObject({ ok: false, code: 'INVALID_SIGNATURE' });
  });

  it('refuses a second host header', async () => {
    const request = appended(await signed(), 'Host', 'evil.example');
    expect(await verify(request)).toMatchObject({ ok: false, code: 'INVALID_SIGNATURE' });
  });

  it('refuses a repeated session token, even the right one twice', async () => {
    const request = appended(await signed(), 'x-amz-security-token', agent.sessionToken ?? '');
    expect(await verify(request)).toMatchObject({ ok: false, code: 'INVALID_SECURITY_TOKEN' });
  });

  it('refuses a second Authorization header naming another key', async () => {
    const mine = await signed();
    const theirs = await signed(other);
    const request = appended(mine, 'Authorization', header(theirs, 'authorization'));
    expect((await verify(request)).ok).toBe(false);
  });

  it('refuses a SignedHeaders list that names a header twice', async () => {
    const request = await signed();
    const auth = header(request, 'authorization').replace('SignedHeaders=', 'SignedHeaders=content-type;');
    expect(await verify(replaced(request, 'authorization', auth))).toMatchObject({
      ok: false,
      code: 'INVALID_SIGNATURE',
    });
  });

  it('refuses a signed header name in upper case', async () => {
    const request = await signed();
    const auth = header(request, 'authorization').replace(';host;', ';Host;');
    expect(await verify(replaced(request, 'authorization', auth))).toMatchObject({ ok: false });
  });
});

describe('SigV4 verification of the body hash header', () => {
  it('refuses a body hash header that does not match the body it came with', async () => {
    const request = replaced(await signed(), 'x-amz-content-sha256', sha256Hex('{"profile":"reports"}'));
    expect(await verify(request)).toMatchObject({ ok: false, code: 'INVALID_PAYLOAD_HASH' });
  });

  it('refuses a swapped body that comes with its own correct hash header', async () => {
    const swapped = '{"profile":"reports"}';
    const request = {
      ...replaced(await signed(), 'x-amz-content-sha256', sha256Hex(swapped)),
      body: Buffer.from(swapped),
    };
    expect(await verify(request)).toMatchObject({ ok: false, code: 'INVALID_SIGNATURE' });
  });

  it('refuses a repeated body hash header', async () => {
    const request = await signed();
    const again = appended(request, 'x-amz-content-sha256', header(request, 'x-amz-content-sha256'));
    expect(await verify(again)).toMatchObject({ ok: false, code: 'INVALID_PAYLOAD_HASH' });
  });
});
