/**
 * A loopback HTTP server that checks each request's SigV4 signature with the local server's own
 * verifier (lambda/adapters/local/sigv4.ts) and answers what the test set: for client tests that
 * need an answer the real server cannot give yet, or cannot give on demand (a 409, a hostile body).
 *
 *   const stub = await startSignedStub();
 *   stub.reply = { status: 201, body: { sessionId: 'ses_…' } };
 *   … new CustodyClient({ endpoint: stub.url, region: STUB_REGION, credentials: STUB_CREDENTIALS, env: {} })
 *   expect(stub.seen.at(-1)).toMatchObject({ method: 'POST', target: '/v1/sessions', verified: true });
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySigV4 } from '../../lambda/adapters/local/sigv4.ts';

export const STUB_REGION = 'eu-west-1';

export const STUB_CREDENTIALS = {
  accessKeyId: 'AKIASTUBTEST00000001',
  secretAccessKey: 'stub-test-secret-0123456789abcdefghijklmn',
  sessionToken: 'stub-test-token',
};

interface SeenRequest {
  readonly method: string;
  readonly target: string;
  /** The signature checked out for STUB_CREDENTIALS and STUB_REGION. */
  readonly verified: boolean;
  readonly body: string;
}

interface StubReply {
  readonly status: number;
  readonly headers?: Record<string, string>;
  /** Sent as JSON unless a string. */
  readonly body: unknown;
}

export interface SignedStub {
  readonly url: string;
  readonly seen: SeenRequest[];
  /** What the stub answers next (and after, until changed). */
  reply: StubReply;
  close(): Promise<void>;
}

export async function startSignedStub(): Promise<SignedStub> {
  const seen: SeenRequest[] = [];
  const stub = { seen, reply: { status: 200, body: {} } as StubReply };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const raw = req.rawHeaders;
      const headers: [string, string][] = [];
      for (let i = 0; i < raw.length; i += 2) headers.push([raw[i] as string, raw[i + 1] as string]);
      const result = await verifySigV4(
        { method: req.method ?? '', target: req.url ?? '/', headers, body },
        {
          region: STUB_REGION,
          lookup: (id) => (id === STUB_CREDENTIALS.accessKeyId ? STUB_CREDENTIALS : undefined),
        },
      );
      seen.push({
        method: req.method ?? '',
        target: req.url ?? '',
        verified: result.ok,
        body: body.toString(),
      });
      const { status, headers: extra, body: answer } = stub.reply;
      res.writeHead(status, { 'content-type': 'application/json', ...extra });
      res.end(typeof answer === 'string' ? answer : JSON.stringify(answer));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(stub, {
    url,
    close: () => new Promise<void>((r) => server.close(() => r())),
  });
}
