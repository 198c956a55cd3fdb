/**
 * SigV4 verification, as API Gateway performs it for service `execute-api` (AWS_IAM auth).
 *
 * The signature is computed by the AWS SDK's own signer (`@smithy/signature-v4`): the request is
 * rebuilt as it arrived on the wire (raw path, decoded query, exactly the headers it says it
 * signed), signed with the secret of the access key named in the credential scope at the date,
 * region and service it claims, and the two signatures are compared in constant time. The checks, in
 * the order API Gateway applies them: an Authorization header that parses; algorithm
 * AWS4-HMAC-SHA256; `host` and `x-amz-date` signed; a well-formed date within five minutes of
 * the server's clock; a credential scope naming that date, this region, `execute-api` and
 * `aws4_request`; a known access key (with its session token, for temporary keys); then the
 * signature itself over the body's sha256.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { sha256Hex } from '../../core/canonical-json.ts';
import { NodeSha256 } from './node-sha256.ts';

const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';
const EXECUTE_API_SERVICE = 'execute-api';
/** API Gateway accepts requests signed up to five minutes before or after its own clock. */
const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

const SIGV4_ERROR_CODES = [
  'MISSING_AUTHENTICATION',
  'INCOMPLETE_SIGNATURE',
  'UNSUPPORTED_ALGORITHM',
  'MISSING_SIGNED_HEADER',
  'INVALID_DATE',
  'SIGNATURE_EXPIRED',
  'SIGNATURE_NOT_YET_CURRENT',
  'WRONG_SCOPE_DATE',
  'WRONG_REGION',
  'WRONG_SERVICE',
  'UNKNOWN_ACCESS_KEY',
  'INVALID_SECURITY_TOKEN',
  'INVALID_PAYLOAD_HASH',
  'INVALID_SIGNATURE',
] as const;
export type SigV4ErrorCode = (typeof SIGV4_ERROR_CODES)[number];

/** What the verifier knows about one access key. */
export interface SigningIdentity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Temporary keys carry a session token that must arrive as `x-amz-security-token`. */
  readonly sessionToken?: string;
}

/** A request as it arrived: raw target (path + query, still percent-encoded) and raw headers. */
export interface IncomingSignedRequest {
  readonly method: string;
  /** The request target as sent, e.g. `/v1/executions?x=1` (node's `req.url`). */
  readonly target: string;
  /** Header name/value pairs in arrival order (node's `req.rawHeaders`, paired). */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
}

export interface SigV4VerifierOptions {
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default 'execute-api' */
  readonly service?: string;
  /** Returns the identity of an access key, or undefined if the key is unknown. */
  readonly lookup: (accessKeyId: string) => SigningIdentity | undefined;
  /** @default () => new Date() */
  readonly clock?: () => Date;
}

export type SigV4Result =
  | { readonly ok: true; readonly identity: SigningIdentity; readonly signedHeaders: readonly string[] }
  | {
      readonly ok: false;
      readonly code: SigV4ErrorCode;
      readonly message: string;
      /** The access key the request claimed, when it named one (not proof of anything). */
      readonly claimedAccessKeyId?: string;
    };

interface ParsedAuthorization {
  readonly accessKeyId: string;
  readonly scopeDate: string;
  readonly region: string;
  readonly service: string;
  readonly terminator: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

function decodeQueryComponent(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    // A malformed escape is signed as sent: the client encoded the same bytes.
    return value;
  }
}

/** The query as the signer takes it: every key and value decoded, repeated keys gathered. */
function queryOf(rawQuery: string): Record<string, string[]> {
  const query: Record<string, string[]> = Object.create(null);
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decodeQueryComponent(eq === -1 ? part : part.slice(0, eq));
    const value = decodeQueryComponent(eq === -1 ? '' : part.slice(eq + 1));
    const values = query[key] ?? [];
    values.push(value);
    query[key] = values;
  }
  return query;
}

function trimHeaderValue(value: string): string {
  return value
    .replace(/[\r\n]/g, ' ')
    .replace(/[ \t]+/g, ' ')
    .trim();
}

/** Header values by lower-case name, repeated headers joined with ',' as SigV4 specifies. */
function headerMap(headers: readonly (readonly [string, string])[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    const trimmed = trimHeaderValue(value);
    const existing = map.get(key);
    map.set(key, existing === undefined ? trimmed : `${existing},${trimmed}`);
  }
  return map;
}

function parseAuthorization(header: string): ParsedAuthorization | { error: SigV4Result & { ok: false } } {
  const space = header.indexOf(' ');
  const algorithm = space === -1 ? header : header.slice(0, space);
  if (algorithm !== SIGV4_ALGORITHM) {
    return {
      error: {
        ok: false,
        code: 'UNSUPPORTED_ALGORITHM',
        message: `Unsupported authorization algorithm "${algorithm.slice(0, 40)}": only ${SIGV4_ALGORITHM} is accepted.`,
      },
    };
  }
  const fields = new Map<string, string>();
  for (const part of header.slice(space + 1).split(',')) {
    const trimmed = part.trim();
    const eq = trimmed.indexOf('=');
    if (eq <= 0) continue;
    fields.set(trimmed.slice(0, eq), trimmed.slice(eq + 1));
  }
  const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((f) => !fields.get(f));
  if (missing.length > 0) {
    return {
      error: {
        ok: false,
        code: 'INCOMPLETE_SIGNATURE',
        message: `Authorization header requires ${missing.map((m) => `'${m}'`).join(', ')} parameter(s).`,
      },
    };
  }
  const credential = (fields.get('Credential') ?? '').split('/');
  const [accessKeyId, scopeDate, region, service, terminator] = credential;
  if (credential.length !== 5 || !accessKeyId || !scopeDate || !region || !service || !terminator) {
    return {
      error: {
        ok: false,
        code: 'INCOMPLETE_SIGNATURE',
        message:
          'Authorization header Credential must be <access key>/<yyyymmdd>/<region>/<service>/aws4_request.',
      },
    };
  }
  const signature = fields.get('Signature') ?? '';
  if (!/^[0-9a-f]{64}$/.test(signature)) {
    return {
      error: {
        ok: false,
        code: 'INCOMPLETE_SIGNATURE',
        message: 'Authorization header Signature must be 64 lower-case hex characters.',
        claimedAccessKeyId: accessKeyId,
      },
    };
  }
  return {
    accessKeyId,
    scopeDate,
    region,
    service,
    terminator,
    signedHeaders: (fields.get('SignedHeaders') ?? '').split(';').filter((h) => h !== ''),
    signature,
  };
}

function parseAmzDate(value: string): Date | undefined {
  const m = AMZ_DATE.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const date = new Date(ms);
  // Reject dates that do not round-trip (20240231T...).
  return formatAmzDate(date) === value ? date : undefined;
}

/** `date` as SigV4's X-Amz-Date: YYYYMMDDTHHMMSSZ, in UTC. */
export function formatAmzDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

export { sha256Hex };

function constantTimeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  // Compare digests so that unequal lengths take the same time as equal ones.
  const da = createHash('sha256').update(ab).digest();
  const db = createHash('sha256').update(bb).digest();
  return timingSafeEqual(da, db) && ab.length === bb.length;
}

/**
 * The signature the SDK's signer makes for this request with `identity`'s secret: the same method,
 * path, query, signed headers (and nothing else), body, date, region and service.
 */
async function expectedSignature(
  request: IncomingSignedRequest,
  headers: ReadonlyMap<string, string>,
  parsed: ParsedAuthorization,
  signedAt: Date,
  identity: SigningIdentity,
): Promise<string | undefined> {
  const q = request.target.indexOf('?');
  const rawPath = q === -1 ? request.target : request.target.slice(0, q);
  const signedHeaders: Record<string, string> = Object.create(null);
  for (const name of parsed.signedHeaders) signedHeaders[name] = headers.get(name) ?? '';
  const signer = new SignatureV4({
    service: parsed.service,
    region: parsed.region,
    // The session token is signed only if the client signed it: it is among the headers then.
    credentials: { accessKeyId: identity.accessKeyId, secretAccessKey: identity.secretAccessKey },
    sha256: NodeSha256,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: request.method.toUpperCase(),
      protocol: 'http:',
      hostname: headers.get('host') ?? '',
      path: rawPath === '' ? '/' : rawPath,
      query: q === -1 ? {} : queryOf(request.target.slice(q + 1)),
      headers: signedHeaders,
      body: request.body,
    },
    { signingDate: signedAt, signableHeaders: new Set(parsed.signedHeaders) },
  );
  const authorization = String(signed.headers.authorization ?? '');
  const m = /, SignedHeaders=([^,]*), Signature=([0-9a-f]{64})$/.exec(authorization);
  // The signer lists headers sorted and once each; a list in another form cannot match.
  if (!m || m[1] !== parsed.signedHeaders.join(';')) return undefined;
  return m[2];
}

/** Verifies one request. Never throws on bad input: every problem is a result with a code. */
export async function verifySigV4(
  request: IncomingSignedRequest,
  options: SigV4VerifierOptions,
): Promise<SigV4Result> {
  const region = options.region ?? 'us-east-1';
  const service = options.service ?? EXECUTE_API_SERVICE;
  const now = (options.clock ?? (() => new Date()))();
  const headers = headerMap(request.headers);

  const authorization = headers.get('authorization');
  if (authorization === undefined || authorization === '') {
    return { ok: false, code: 'MISSING_AUTHENTICATION', message: 'Missing Authentication Token' };
  }
  const parsed = parseAuthorization(authorization);
  if ('error' in parsed) return parsed.error;
  const claimedAccessKeyId = parsed.accessKeyId;
  const fail = (code: SigV4ErrorCode, message: string): SigV4Result => ({
    ok: false,
    code,
    message,
    claimedAccessKeyId,
  });

  for (const required of ['host', 'x-amz-date']) {
    if (!parsed.signedHeaders.includes(required)) {
      return fail(
        'MISSING_SIGNED_HEADER',
        `'${required}' must be a signed header: SignedHeaders lists ${parsed.signedHeaders.join(';') || 'nothing'}.`,
      );
    }
  }
  for (const name of parsed.signedHeaders) {
    if (name !== name.toLowerCase() || !headers.has(name)) {
      return fail(
        'INCOMPLETE_SIGNATURE',
        `Signed header '${name.slice(0, 64)}' is not present in the request.`,
      );
    }
  }

  const amzDate = headers.get('x-amz-date') ?? '';
  const signedAt = parseAmzDate(amzDate);
  if (!signedAt) {
    return fail(
      'INVALID_DATE',
      `x-amz-date "${amzDate.slice(0, 32)}" is not a date of the form YYYYMMDDTHHMMSSZ.`,
    );
  }
  const skewMs = now.getTime() - signedAt.getTime();
  if (skewMs > MAX_CLOCK_SKEW_MS) {
    return fail(
      'SIGNATURE_EXPIRED',
      `Signature expired: ${amzDate} is now earlier than the server's clock minus 5 min.`,
    );
  }
  if (-skewMs > MAX_CLOCK_SKEW_MS) {
    return fail(
      'SIGNATURE_NOT_YET_CURRENT',
      `Signature not yet current: ${amzDate} is still later than the server's clock plus 5 min.`,
    );
  }
  if (parsed.scopeDate !== amzDate.slice(0, 8)) {
    return fail(
      'WRONG_SCOPE_DATE',
      `Credential scope date ${parsed.scopeDate.slice(0, 16)} does not match x-amz-date ${amzDate}.`,
    );
  }
  if (parsed.region !== region) {
    return fail(
      'WRONG_REGION',
      `Credential should be scoped to a valid region: '${parsed.region.slice(0, 32)}' is wrong; expecting '${region}'.`,
    );
  }
  if (parsed.service !== service) {
    return fail(
      'WRONG_SERVICE',
      `Credential should be scoped to correct service: '${service}', not '${parsed.service.slice(0, 32)}'.`,
    );
  }
  if (parsed.terminator !== 'aws4_request') {
    return fail('INCOMPLETE_SIGNATURE', `Credential scope must end with 'aws4_request'.`);
  }

  const identity = options.lookup(parsed.accessKeyId);
  if (!identity) {
    return fail('UNKNOWN_ACCESS_KEY', 'The security token included in the request is invalid.');
  }
  const token = headers.get('x-amz-security-token');
  if (identity.sessionToken !== undefined) {
    if (token === undefined || !constantTimeEqual(token, identity.sessionToken)) {
      return fail('INVALID_SECURITY_TOKEN', 'The security token included in the request is invalid.');
    }
  } else if (token !== undefined) {
    return fail('INVALID_SECURITY_TOKEN', 'The security token included in the request is invalid.');
  }

  const bodyHash = sha256Hex(request.body);
  const declaredHash = headers.get('x-amz-content-sha256');
  if (declaredHash !== undefined && declaredHash !== bodyHash) {
    return fail(
      'INVALID_PAYLOAD_HASH',
      declaredHash === 'UNSIGNED-PAYLOAD'
        ? 'Unsigned payloads are not accepted: sign the sha256 of the body.'
        : 'x-amz-content-sha256 does not match the sha256 of the body.',
    );
  }

  const expected = await expectedSignature(request, headers, parsed, signedAt, identity);
  if (expected === undefined || !constantTimeEqual(expected, parsed.signature)) {
    return fail(
      'INVALID_SIGNATURE',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    );
  }
  return { ok: true, identity, signedHeaders: parsed.signedHeaders };
}
