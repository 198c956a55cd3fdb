/**
 * The benchmark's (and load tests') caller: SigV4-signs each request with the AWS SDK's signer
 * (hashing through node:crypto, as the SDK does in Node) and sends it over a keep-alive loopback
 * connection pool. The same client calls the floor server and custody, so the client's own cost is
 * on both sides of every ratio.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';

/** `Checksum` for the signer, backed by node:crypto (HMAC when constructed with a secret). */
class NodeSha256 {
  private hash: Hash | Hmac;
  private readonly secret: string | Buffer | undefined;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.secret =
      secret === undefined || typeof secret === 'string'
        ? secret
        : ArrayBuffer.isView(secret)
          ? Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength)
          : Buffer.from(secret);
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

export interface SigningKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface SignedResponse {
  readonly status: number;
  readonly body: string;
}

interface SignedRequest {
  readonly method?: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly body?: string | Buffer;
  /** Extra headers, signed with the rest. */
  readonly headers?: Readonly<Record<string, string>>;
  /** @default now */
  readonly signingDate?: Date;
}

export interface SignedClient {
  send(request: SignedRequest): Promise<SignedResponse>;
  /** Sends raw bytes with raw headers: nothing is signed or checked (for hostile requests). */
  sendRaw(request: {
    method: string;
    path: string;
    headers: Record<string, string>;
    body?: Buffer | string;
  }): Promise<SignedResponse>;
  close(): void;
}

export interface SignedClientOptions {
  readonly baseUrl: string;
  readonly key: SigningKey;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** Sockets kept open to the server. @default 64 */
  readonly maxSockets?: number;
}

export function signedClient(options: SignedClientOptions): SignedClient {
  const url = new URL(options.baseUrl);
  const port = Number(url.port);
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 });
  const signer = new SignatureV4({
    service: 'execute-api',
    region: options.region ?? 'us-east-1',
    sha256: NodeSha256,
    credentials: options.key,
  });

  const attempt = (request: Parameters<SignedClient['sendRaw']>[0]) =>
    new Promise<SignedResponse>((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port,
          method: request.method,
          path: request.path,
          headers: request.headers,
          agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        // A kept-alive socket the server closed as idle just as it was reused: the server saw no
        // request on it, so sending again is safe (what Node's documentation advises).
        reject(Object.assign(error, { reusedSocket: req.reusedSocket }));
      });
      req.end(request.body);
    });

  const sendRaw: SignedClient['sendRaw'] = async (request) => {
    try {
      return await attempt(request);
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { reusedSocket?: boolean };
      if (e.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) return attempt(request);
      throw error;
    }
  };

  return {
    async send(request) {
      const method = request.method ?? (request.body === undefined ? 'GET' : 'POST');
      const signed = await signer.sign(
        {
          method,
          protocol: url.protocol,
          hostname: url.hostname,
          port,
          path: request.path,
          query: {},
          headers: {
            host: url.host,
            ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
            ...request.headers,
          },
          ...(request.body === undefined ? {} : { body: request.body }),
        },
        request.signingDate ? { signingDate: request.signingDate } : {},
      );
      const headers = { ...(signed.headers as Record<string, string>) };
      if (request.body !== undefined) headers['content-length'] = String(Buffer.byteLength(request.body));
      return sendRaw({
        method,
        path: request.path,
        headers,
        ...(request.body === undefined ? {} : { body: request.body }),
      });
    },
    sendRaw,
    close() {
      agent.destroy();
    },
  };
}
