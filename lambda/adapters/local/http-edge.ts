/**
 * The local server's edge: what API Gateway does in front of the broker on AWS. A node HTTP server
 * on loopback that bounds the body (413, after draining what a client already sent), checks the
 * SigV4 signature against the local identities (403 with API Gateway's error type), gives every
 * request an id, and hands the rest to the broker's HTTP mapping (`lambda/broker/api.ts`).
 * Requests it refuses are audited as denials, as CloudTrail and the access log would show them.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ApiResponse, type BrokerApi, type CallerIdentity, json } from '../../broker/api.ts';
import type { Clock } from '../../core/ports.ts';
import type { LocalIdentity } from './identities.ts';
import { LocalServerError } from './local-server-error.ts';
import { type SigV4ErrorCode, verifySigV4 } from './sigv4.ts';

/** API Gateway's payload limit for a Lambda proxy integration is 6 MB; larger bodies get 413. */
export const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;

/**
 * How much of an oversized body is read and dropped before the 413 is sent. Clients that write
 * the whole body before reading (Python's urllib, botocore) see a broken pipe instead of the 413
 * if the server answers and closes while they are still writing; draining lets them finish. A
 * body declared or found larger than this, or slower than `DRAIN_TIMEOUT_MS`, is answered at once.
 */
const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
const DRAIN_TIMEOUT_MS = 10_000;

export interface HttpEdgeOptions {
  readonly broker: BrokerApi;
  /** Who may sign requests: the local identities, by access key id. */
  readonly identities: readonly LocalIdentity[];
  /** Region requests must be signed for. */
  readonly region: string;
  readonly clock: Clock;
  readonly maxBodyBytes: number;
}

/** The type API Gateway names in `x-amzn-ErrorType` for each signature failure. */
const AWS_ERROR_TYPES: Record<SigV4ErrorCode, string> = {
  MISSING_AUTHENTICATION: 'MissingAuthenticationTokenException',
  INCOMPLETE_SIGNATURE: 'IncompleteSignatureException',
  UNSUPPORTED_ALGORITHM: 'IncompleteSignatureException',
  MISSING_SIGNED_HEADER: 'IncompleteSignatureException',
  INVALID_DATE: 'IncompleteSignatureException',
  SIGNATURE_EXPIRED: 'InvalidSignatureException',
  SIGNATURE_NOT_YET_CURRENT: 'InvalidSignatureException',
  WRONG_SCOPE_DATE: 'InvalidSignatureException',
  WRONG_REGION: 'InvalidSignatureException',
  WRONG_SERVICE: 'InvalidSignatureException',
  UNKNOWN_ACCESS_KEY: 'UnrecognizedClientException',
  INVALID_SECURITY_TOKEN: 'UnrecognizedClientException',
  INVALID_PAYLOAD_HASH: 'InvalidSignatureException',
  INVALID_SIGNATURE: 'InvalidSignatureException',
};

/** The edge as a node HTTP server, not yet listening (`listen`). */
export function createHttpEdge(options: HttpEdgeOptions): Server {
  const ctx: EdgeContext = {
    ...options,
    byAccessKey: new Map(options.identities.map((i) => [i.accessKeyId, i])),
  };
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    handleRequest(req, res, ctx).catch(() => {
      if (!res.headersSent) {
        writeResponse(res, json(500, { error: { code: 'INTERNAL_ERROR', message: 'Internal error.' } }));
      } else res.destroy();
    });
  };
  const http = createServer(serve);
  // A client that asks before sending (`Expect: 100-continue`, as curl does for large bodies) is
  // told 413 before it sends an oversized body, and only an acceptable one is invited.
  http.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (!(Number.isFinite(declared) && declared > options.maxBodyBytes)) res.writeContinue();
    serve(req, res);
  });
  http.keepAliveTimeout = 5_000;
  return http;
}

/** Listens on `host:port` (0: a free port) and returns the port; a clear error if it cannot. */
export async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        new LocalServerError(
          error.code === 'EADDRINUSE'
            ? `port ${port} on ${host} is in use; set CUSTODY_PORT to another port`
            : `cannot listen on ${host}:${port}: ${error.message}`,
          { cause: error },
        ),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Stops accepting connections and resolves once the requests in flight are answered. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

interface EdgeContext extends HttpEdgeOptions {
  readonly byAccessKey: ReadonlyMap<string, LocalIdentity>;
}

/** Writes a response of the broker's HTTP mapping, with any edge headers and its length. */
function writeResponse(res: ServerResponse, response: ApiResponse, headers: Record<string, string> = {}) {
  res.writeHead(response.statusCode, {
    ...response.headers,
    ...headers,
    'content-length': Buffer.byteLength(response.body),
  });
  res.end(response.body);
}

function pairs(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i] as string, raw[i + 1] as string]);
  return out;
}

type BodyResult = { ok: true; body: Buffer } | { ok: false; reason: 'too-large' | 'aborted' };

function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const declared = Number(req.headers['content-length'] ?? '0');
  // A client that waits for `100 Continue` (not sent for an oversized body) sends nothing to drain.
  const waitsToSend = /100-continue/i.test(String(req.headers.expect ?? ''));
  if (Number.isFinite(declared) && (declared > DRAIN_MAX_BYTES || (waitsToSend && declared > maxBytes))) {
    return Promise.resolve({ ok: false, reason: 'too-large' });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    let tooLarge = Number.isFinite(declared) && declared > maxBytes;
    let drainTimer: NodeJS.Timeout | undefined;
    const finish = (result: BodyResult) => {
      if (done) return;
      done = true;
      clearTimeout(drainTimer);
      resolve(result);
    };
    const startDraining = () => {
      tooLarge = true;
      chunks.length = 0;
      drainTimer = setTimeout(() => finish({ ok: false, reason: 'too-large' }), DRAIN_TIMEOUT_MS);
    };
    if (tooLarge) startDraining();
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (tooLarge) {
        // Read and dropped; past the drain bound the 413 goes out without waiting for the rest.
        if (size > DRAIN_MAX_BYTES) finish({ ok: false, reason: 'too-large' });
        return;
      }
      if (size > maxBytes) {
        startDraining();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () =>
      finish(tooLarge ? { ok: false, reason: 'too-large' } : { ok: true, body: Buffer.concat(chunks) }),
    );
    req.on('error', () => finish({ ok: false, reason: 'aborted' }));
  });
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function handleRequest(req: IncomingMessage, res: ServerResponse, ctx: EdgeContext): Promise<void> {
  const requestId = randomUUID();
  const method = req.method ?? 'GET';
  const target = req.url ?? '/';
  const queryAt = target.indexOf('?');
  const path = (queryAt === -1 ? target : target.slice(0, queryAt)) || '/';
  const sourceIp = req.socket.remoteAddress;
  const userAgent = headerValue(req, 'user-agent');
  const edgeCaller = (accessKeyId?: string): CallerIdentity => ({
    arn: '',
    ...(accessKeyId ? { accessKeyId: accessKeyId.slice(0, 128) } : {}),
    ...(sourceIp ? { sourceIp } : {}),
    ...(userAgent ? { userAgent } : {}),
  });
  const idHeader = { 'x-amzn-requestid': requestId };
  const deny = async (
    status: number,
    code: string,
    message: string,
    accessKeyId?: string,
    headers: Record<string, string> = {},
  ) => {
    try {
      await ctx.broker.recordEdgeDenial({
        caller: edgeCaller(accessKeyId),
        reason: code,
        message,
        method,
        path: path.slice(0, 1024),
      });
    } catch (error) {
      // The request is refused either way; say that its record is missing, never silently.
      process.stderr.write(
        `custody: could not audit the refused request ${requestId} (${code}): ${(error as Error).message}\n`,
      );
    }
    writeResponse(res, json(status, { error: { code, message } }, { ...idHeader, ...headers }));
  };

  const read = await readBody(req, ctx.maxBodyBytes);
  if (!read.ok) {
    if (read.reason === 'aborted') {
      res.destroy();
      return;
    }
    res.setHeader('connection', 'close');
    await deny(413, 'PAYLOAD_TOO_LARGE', `The request body is larger than ${ctx.maxBodyBytes} bytes.`);
    req.resume();
    return;
  }

  const verified = await verifySigV4(
    { method, target, headers: pairs(req.rawHeaders), body: read.body },
    { region: ctx.region, lookup: (id) => ctx.byAccessKey.get(id), clock: ctx.clock },
  );
  if (!verified.ok) {
    await deny(403, verified.code, verified.message, verified.claimedAccessKeyId, {
      'x-amzn-errortype': AWS_ERROR_TYPES[verified.code],
    });
    return;
  }
  const identity = ctx.byAccessKey.get(verified.identity.accessKeyId);
  if (!identity) throw new LocalServerError('verified key vanished');

  try {
    decodeURIComponent(path);
  } catch {
    writeResponse(
      res,
      json(
        400,
        { error: { code: 'INVALID_REQUEST', message: 'path: malformed percent-encoding' } },
        idHeader,
      ),
    );
    return;
  }

  const response = await ctx.broker.handle({
    method,
    path,
    body: read.body.length === 0 ? null : read.body.toString('utf8'),
    caller: {
      arn: identity.callerArn,
      accountId: identity.accountId,
      accessKeyId: identity.accessKeyId,
      ...(sourceIp ? { sourceIp } : {}),
      ...(userAgent ? { userAgent } : {}),
    },
    requestId,
  });
  writeResponse(res, response, idHeader);
}
