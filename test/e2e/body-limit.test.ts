/**
 * The local server's body bound as clients see it: a body over 6 MB gets a 413 they can read,
 * whether they write the whole body before reading (Python's urllib, botocore), stream it in
 * chunks, or ask first with `Expect: 100-continue` (curl); and every such refusal is audited.
 */
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_BODY_BYTES } from '../../lambda/handlers/local-server.ts';
import { curl, findRecord, startTestServer, type TestServer } from './support.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

const OVER = DEFAULT_MAX_BODY_BYTES + 1024 * 1024;

/**
 * A raw client that writes its request line, headers and whole body, and only then reads the
 * answer. Resolves with what it read, or with the socket error that stopped it.
 */
function writeThenRead(
  headers: string,
  body: Buffer | Buffer[],
): Promise<{ response: string; error?: string }> {
  const port = t.server.port;
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let response = '';
    socket.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ response, error: error.code ?? error.message }),
    );
    socket.on('connect', () => {
      socket.write(`POST /v1/executions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${headers}\r\n`);
      const parts = Array.isArray(body) ? body : [body];
      const last = parts.length - 1;
      parts.forEach((part, i) => {
        socket.write(
          part,
          i === last
            ? () => {
                socket.on('data', (chunk) => {
                  response += chunk.toString('latin1');
                });
                socket.on('end', () => resolve({ response }));
              }
            : undefined,
        );
      });
    });
  });
}

const statusLine = (response: string) => response.split('\r\n')[0];

async function expectAudited(userAgent: string) {
  const record = await findRecord(
    () => t.server.auditStore.listRecent({ limit: 500 }),
    (r) => r.caller.userAgent === userAgent,
  );
  expect(record).toMatchObject({
    event: 'denied',
    decision: { allowed: false, reason: 'PAYLOAD_TOO_LARGE' },
  });
}

describe('a body over the limit', () => {
  it('answers 413 to a client that writes the whole body before it reads', async () => {
    const out = await writeThenRead(
      `User-Agent: writes-first\r\nContent-Type: application/json\r\nContent-Length: ${OVER}\r\n`,
      Buffer.alloc(OVER, 'x'),
    );
    expect(out.error).toBeUndefined();
    expect(statusLine(out.response)).toBe('HTTP/1.1 413 Payload Too Large');
    expect(out.response).toContain('"code":"PAYLOAD_TOO_LARGE"');
    await expectAudited('writes-first');
  });

  it('answers 413 to a chunked body with no declared length, written before reading', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 'y');
    const framed = (data: Buffer) =>
      Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
    const parts = [...Array.from({ length: 7 }, () => framed(chunk)), Buffer.from('0\r\n\r\n')];
    const out = await writeThenRead('User-Agent: chunked-first\r\nTransfer-Encoding: chunked\r\n', parts);
    expect(out.error).toBeUndefined();
    expect(statusLine(out.response)).toBe('HTTP/1.1 413 Payload Too Large');
    await expectAudited('chunked-first');
  });

  it('answers a body declared larger than it drains at once, to a client that reads', async () => {
    const out = await new Promise<string>((resolve, reject) => {
      const socket = connect(t.server.port, '127.0.0.1');
      let response = '';
      socket.on('error', reject);
      socket.on('data', (chunk) => {
        response += chunk.toString('latin1');
      });
      socket.on('end', () => resolve(response));
      socket.write(
        `POST /v1/executions HTTP/1.1\r\nHost: x\r\nUser-Agent: declares-a-gigabyte\r\nContent-Length: ${2 ** 30}\r\n\r\n`,
      );
    });
    expect(statusLine(out)).toBe('HTTP/1.1 413 Payload Too Large');
    await expectAudited('declares-a-gigabyte');
  });

  it.each([
    ['asks first with Expect: 100-continue', 'curl-expects', []],
    ['sends without asking', 'curl-sends', ['-H', 'Expect:']],
  ])('answers 413 to curl when it %s', async (_how, userAgent, extra) => {
    const file = join(t.home, `${userAgent}.json`);
    writeFileSync(file, Buffer.alloc(OVER, 'z'));
    const res = await curl([
      '-A',
      userAgent,
      ...extra,
      '--data-binary',
      `@${file}`,
      `${t.server.url}/v1/executions`,
    ]);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error.code).toBe('PAYLOAD_TOO_LARGE');
    await expectAudited(userAgent);
  });

  it('still reads a body under the limit sent after 100 Continue', async () => {
    const file = join(t.home, 'small.json');
    writeFileSync(
      file,
      JSON.stringify({ profile: 'sandbox', language: 'javascript', code: 'x'.repeat(2048) }),
    );
    const res = await curl([
      '-H',
      'Expect: 100-continue',
      '--data-binary',
      `@${file}`,
      `${t.server.url}/v1/executions`,
    ]);
    // Unsigned: the body was read and the signature check refused it (not a 413, not a hang).
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error.code).toBe('MISSING_AUTHENTICATION');
  });
});
