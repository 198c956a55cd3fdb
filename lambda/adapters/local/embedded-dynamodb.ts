/**
 * The local server's own DynamoDB client for the dynalite it embeds: each request goes to
 * dynalite's HTTP request handler in this process instead of over a loopback socket, and carries
 * a fixed, well-formed `Authorization` header instead of a SigV4 signature.
 *
 * dynalite checks that the header is well formed and never checks the signature, so signing each
 * call with throwaway credentials was pure cost: about 0.4 ms of CPU per call, and the socket
 * about 0.2 ms more, on every one of the four or five audit-store calls an execution makes.
 * Everything else is unchanged: the same SDK commands, serializers and error mapping, and the
 * same dynalite code from its HTTP handler inwards. dynalite still listens on loopback for other
 * clients (the CLI's `audit verify`, `revoke`), which sign as usual.
 */
import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LOCAL_DYNAMODB_CREDENTIALS } from './local-dynamodb-client.ts';
import { formatAmzDate } from './sigv4.ts';

/** The parts of the SDK's HttpRequest and HttpResponse used here. */
interface OutgoingRequest {
  readonly method: string;
  readonly path: string;
  readonly query?: Record<string, string | string[] | null>;
  readonly headers: Record<string, string>;
  readonly body?: unknown;
}
interface HandlerOutput {
  response: { statusCode: number; headers: Record<string, string>; body: Uint8Array };
}

type RequestListener = (req: EventEmitter, res: FakeResponse) => void;

interface FakeResponse {
  statusCode: number;
  contentType?: string;
  setHeader(name: string, value: unknown): void;
  end(body?: string | Uint8Array): void;
}

/** The header dynalite requires: well formed, never verified. */
export function unsignedAuthorization(
  region: string,
  date: Date,
): { authorization: string; amzDate: string } {
  const amzDate = formatAmzDate(date);
  return {
    amzDate,
    authorization: `AWS4-HMAC-SHA256 Credential=local/${amzDate.slice(0, 8)}/${region}/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=unsigned`,
  };
}

function bodyBytes(body: unknown): Buffer {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('embedded dynalite: a streamed request body is not supported');
}

/** Hands one SDK request to dynalite's request listener and collects its response. */
function dispatch(listener: RequestListener, request: OutgoingRequest): Promise<HandlerOutput> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(request.query ?? {})) {
      for (const one of Array.isArray(value) ? value : [value]) query.append(name, one ?? '');
    }
    const search = query.toString();
    const req = Object.assign(new EventEmitter(), {
      method: request.method,
      url: search ? `${request.path}?${search}` : request.path,
      headers,
    });
    const responseHeaders: Record<string, string> = {};
    const res: FakeResponse = {
      statusCode: 200,
      setHeader(name, value) {
        responseHeaders[name.toLowerCase()] = String(value);
      },
      end(body) {
        const bytes =
          body === undefined ? new Uint8Array(0) : typeof body === 'string' ? Buffer.from(body) : body;
        resolve({ response: { statusCode: res.statusCode, headers: responseHeaders, body: bytes } });
      },
    };
    let payload: Buffer;
    try {
      payload = bodyBytes(request.body);
      listener(req, res);
    } catch (error) {
      reject(error);
      return;
    }
    // As a socket would: the body arrives after the handler has attached its listeners.
    process.nextTick(() => {
      try {
        if (payload.length > 0) req.emit('data', payload);
        req.emit('end');
      } catch (error) {
        reject(error);
      }
    });
  });
}

/**
 * A DynamoDB client bound to `db` (a dynalite server, listening on `endpoint`) in process. Errors
 * come back as from the network: dynalite's 4xx and 5xx answers become the SDK's typed exceptions.
 */
export function embeddedDynamoDbClient(db: Server, endpoint: string, region: string): DynamoDBClient {
  const listener = db.listeners('request')[0] as RequestListener | undefined;
  if (listener === undefined) throw new Error('embedded dynalite: the server has no request handler');
  return new DynamoDBClient({
    endpoint,
    region,
    credentials: LOCAL_DYNAMODB_CREDENTIALS,
    signer: {
      sign: async (request) => {
        const { authorization, amzDate } = unsignedAuthorization(region, new Date());
        request.headers.authorization = authorization;
        request.headers['x-amz-date'] = amzDate;
        return request;
      },
    },
    requestHandler: {
      handle: (request: OutgoingRequest) => dispatch(listener, request),
      updateHttpClientConfig: () => undefined,
      httpHandlerConfigs: () => ({}),
      destroy: () => undefined,
    } as never,
  });
}
