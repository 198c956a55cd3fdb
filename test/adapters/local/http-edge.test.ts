import type { Server } from 'node:http';
import aws4 from 'aws4';
import { afterEach, describe, expect, it } from 'vitest';
import { closeServer, createHttpEdge, listen } from '../../../lambda/adapters/local/http-edge.ts';
import type { LocalIdentity } from '../../../lambda/adapters/local/identities.ts';
import { ACCOUNT, brokerFixture, callers, run } from '../../broker/fixture.ts';

const agent: LocalIdentity = {
  accessKeyId: 'AKIAEDGETESTAGENT001',
  secretAccessKey: 'edge-test-secret-access-key',
  profileName: 'agent',
  principalArn: `arn:aws:iam::${ACCOUNT}:role/custody-agent`,
  callerArn: callers.agent.arn,
  accountId: ACCOUNT,
};

let server: Server | undefined;
afterEach(async () => {
  if (server) await closeServer(server);
  server = undefined;
});

/** The edge in front of a real broker core on in-memory ports, on a free loopback port. */
async function edge(maxBodyBytes = 64 * 1024) {
  const f = brokerFixture();
  server = createHttpEdge({
    broker: f.api,
    identities: [agent],
    region: 'us-east-1',
    clock: () => new Date(),
    maxBodyBytes,
  });
  const port = await listen(server, 0, '127.0.0.1');
  return { f, url: `http://127.0.0.1:${port}` };
}

/** A request signed by aws4 (an independent SigV4 signer), sent with fetch. */
async function signed(url: string, path: string, body: string) {
  const { host } = new URL(url);
  const request = aws4.sign(
    {
      host,
      path,
      method: 'POST',
      service: 'execute-api',
      region: 'us-east-1',
      body,
      headers: { 'content-type': 'application/json' },
    },
    { accessKeyId: agent.accessKeyId, secretAccessKey: agent.secretAccessKey },
  );
  const headers = Object.fromEntries(
    Object.entries(request.headers ?? {})
      .filter(([name]) => !['host', 'content-length'].includes(name.toLowerCase()))
      .map(([name, value]) => [name, String(value)]),
  );
  return fetch(`${url}${path}`, { method: 'POST', headers, body });
}

describe('HTTP edge', () => {
  it('hands a signed request to the broker as the key’s caller and names the request', async () => {
    const { f, url } = await edge();
    const res = await signed(url, '/v1/executions', JSON.stringify(run));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await res.json()) as { status: string }).toMatchObject({ status: 'succeeded' });
    expect(f.store.records[0]?.caller).toMatchObject({
      arn: callers.agent.arn,
      accountId: ACCOUNT,
      accessKeyId: agent.accessKeyId,
      sourceIp: '127.0.0.1',
    });
  });

  it('refuses an unsigned request as API Gateway does, and audits the denial', async () => {
    const { f, url } = await edge();
    const res = await fetch(`${url}/v1/profiles`);
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('MISSING_AUTHENTICATION');
    expect(f.store.records).toHaveLength(1);
    expect(f.store.records[0]).toMatchObject({
      event: 'denied',
      caller: { arn: 'anonymous' },
      decision: { allowed: false, reason: 'MISSING_AUTHENTICATION' },
    });
  });

  it('answers 413 to a body over the limit, closes the connection, and audits the denial', async () => {
    const { f, url } = await edge(1024);
    const res = await signed(url, '/v1/executions', JSON.stringify({ ...run, code: 'x'.repeat(2048) }));
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    expect(await res.json()).toEqual({
      error: { code: 'PAYLOAD_TOO_LARGE', message: 'The request body is larger than 1024 bytes.' },
    });
    expect(f.store.records.map((r) => r.decision.reason)).toEqual(['PAYLOAD_TOO_LARGE']);
  });
});
