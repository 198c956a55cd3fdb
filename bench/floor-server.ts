/**
 * The floor of any signed API: an HTTP server on loopback that reads the body, verifies the SigV4
 * signature with custody's own verifier (lambda/adapters/local/sigv4.ts, what local mode's edge runs) and answers a
 * small JSON body. No policy, no credentials, no sandbox, no audit.
 *
 * Run as a child process by bench/run.ts: reads one identity (JSON) from argv[2], listens on a
 * free port, prints `{"port":N}` on stdout, and exits when stdin closes.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type SigningIdentity, verifySigV4 } from '../lambda/adapters/local/sigv4.ts';

const identity = JSON.parse(process.argv[2] ?? '{}') as SigningIdentity;
if (typeof identity.accessKeyId !== 'string' || typeof identity.secretAccessKey !== 'string') {
  process.stderr.write('floor-server: argv[2] must be a JSON identity {accessKeyId, secretAccessKey}\n');
  process.exit(2);
}

function pairs(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i] as string, raw[i + 1] as string]);
  return out;
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', async () => {
    const verified = await verifySigV4(
      {
        method: req.method ?? 'GET',
        target: req.url ?? '/',
        headers: pairs(req.rawHeaders),
        body: Buffer.concat(chunks),
      },
      { lookup: (id) => (id === identity.accessKeyId ? identity : undefined) },
    );
    const text = JSON.stringify(verified.ok ? { ok: true } : { error: { code: verified.code } });
    res.writeHead(verified.ok ? 200 : 403, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  });
});
server.keepAliveTimeout = 5_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
