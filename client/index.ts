/**
 * The typed custody client: what an agent (or the `custody` CLI, or the MCP server) uses to call
 * the signed API, unchanged against local mode and a deployed stack.
 *
 *   const custody = new CustodyClient();            // CUSTODY_ENDPOINT, default AWS credentials
 *   const run = await custody.execute({ profile: 'sandbox', language: 'python', code: 'print(1)' });
 *
 * Requests are signed with SigV4 for `execute-api` by the AWS SDK's signer; credentials come from
 * the AWS default provider chain (env, AWS_PROFILE + shared files, SSO, instance and container
 * roles) unless given. A refusal from the API is a `CustodyApiError` carrying the API's code.
 *
 * A session keeps state (variables, functions, files) from one call to the next:
 *
 *   const session = await custody.startSession({ profile: 'sandbox', ttlSeconds: 900 });
 *   await session.run({ language: 'python', code: 'x = 41' });
 *   const next = await session.run({ language: 'python', code: 'print(x + 1)' });   // 42
 *   await session.end();
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { z } from 'zod';
import type {
  ErrorBody,
  ExecutionRequestInput,
  ExecutionResponse,
  ProfileSummary,
  ProfilesResponse,
  SessionEndResponse,
  SessionExecutionResponse,
  SessionListResponse,
  SessionStartResponse,
  SessionSummary,
  sessionExecutionRequestSchema,
  sessionStartRequestSchema,
} from '../lambda/core/api-schema.ts';
import type { AuditRecord } from '../lambda/core/audit-record.ts';
import { type ExecuteFileValue, requestFiles } from './file-values.ts';

// The API's bodies are stated once, as zod schemas in lambda/core/api-schema.ts; these are their types.
export type {
  ExecutionResponse,
  ProfileSummary,
  SessionEndResponse,
  SessionExecutionResponse,
  SessionStartResponse,
  SessionSummary,
} from '../lambda/core/api-schema.ts';
export type { AuditRecord } from '../lambda/core/audit-record.ts';
export { type ExecuteFileValue, fileBytes } from './file-values.ts';

/**
 * What `execute` sends: the body of `POST /v1/executions` (profile, language, code; optional
 * input files, a deadline below the profile's, and the purpose kept in the audit record). A file
 * may also be given as a Uint8Array: it is sent as `{ base64 }`.
 */
export type ExecuteInput = Readonly<
  Omit<ExecutionRequestInput, 'files'> & { files?: Readonly<Record<string, ExecuteFileValue>> }
>;

/** What `startSession` sends: the body of `POST /v1/sessions` (profile; optional TTL and purpose). */
export type StartSessionInput = Readonly<z.input<typeof sessionStartRequestSchema>>;

/** What a call in a session sends: an execution's body without the profile (the session's applies). */
export type SessionRunInput = Readonly<
  Omit<z.input<typeof sessionExecutionRequestSchema>, 'files'> & {
    files?: Readonly<Record<string, ExecuteFileValue>>;
  }
>;

/** `GET /v1/executions/{id}`: the audit records of one execution, oldest first. */
export interface ExecutionRecords {
  readonly executionId: string;
  readonly records: readonly AuditRecord[];
}

export interface CustodyClientOptions {
  /** The API's base URL (`https://ID.execute-api.REGION.amazonaws.com/prod`, `http://127.0.0.1:8787`). @default CUSTODY_ENDPOINT */
  readonly endpoint?: string;
  /** The region requests are signed for. @default CUSTODY_REGION, the endpoint's region, AWS_REGION, 'us-east-1' */
  readonly region?: string;
  /** @default the AWS default credential provider chain */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** How long to wait for a response. @default 330_000 (the broker's own deadline plus margin) */
  readonly timeoutMs?: number;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** The client is misconfigured (no endpoint, bad endpoint); nothing was sent. */
export class CustodyConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CustodyConfigError';
  }
}

/** No usable AWS credentials were found; nothing was sent. */
export class CustodyCredentialsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CustodyCredentialsError';
  }
}

/** The API could not be reached, or did not answer in time. */
export class CustodyNetworkError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CustodyNetworkError';
  }
}

/** The API answered with an error: `status` is the HTTP status, `code` the API's reason code. */
export class CustodyApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly executionId?: string;
  readonly requestId?: string;
  /** The record of a refused execution is still being written (the broker said so). */
  readonly auditPending: boolean;

  constructor(
    status: number,
    code: string,
    message: string,
    details: { executionId?: string; requestId?: string; auditPending?: boolean } = {},
  ) {
    super(message);
    this.name = 'CustodyApiError';
    this.status = status;
    this.code = code;
    if (details.executionId !== undefined) this.executionId = details.executionId;
    if (details.requestId !== undefined) this.requestId = details.requestId;
    this.auditPending = details.auditPending ?? false;
  }
}

/**
 * Thrown when a call names a session that has ended (`DELETE`, its TTL, or `custody revoke`):
 * HTTP 410, code `SESSION_ENDED`. Its state and secrets are gone; start a new session.
 */
export class CustodySessionEndedError extends CustodyApiError {
  constructor(message: string, details: { executionId?: string; requestId?: string } = {}) {
    super(410, 'SESSION_ENDED', message, details);
    this.name = 'CustodySessionEndedError';
  }
}

/**
 * Thrown when a call is sent to a session while another call of it is still running: HTTP 409,
 * code `SESSION_BUSY`. A session runs one call at a time; wait for the first to answer, then retry.
 */
export class CustodySessionBusyError extends CustodyApiError {
  constructor(message: string, details: { executionId?: string; requestId?: string } = {}) {
    super(409, 'SESSION_BUSY', message, details);
    this.name = 'CustodySessionBusyError';
  }
}

/** The API's refusal as the most specific error class: the session ones by code, else CustodyApiError. */
function apiError(
  status: number,
  code: string,
  message: string,
  details: { executionId?: string; requestId?: string; auditPending?: boolean },
): CustodyApiError {
  const { auditPending: _pending, ...ids } = details;
  if (status === 410 && code === 'SESSION_ENDED') return new CustodySessionEndedError(message, ids);
  if (status === 409 && code === 'SESSION_BUSY') return new CustodySessionBusyError(message, ids);
  return new CustodyApiError(status, code, message, details);
}

/**
 * A started session: the API's answer (`sessionId`, `profile`, `expiresAt`, `secretVariables`)
 * and the calls that act on it. Serializes (JSON.stringify) to the answer alone.
 */
export class CustodySession implements SessionStartResponse {
  readonly sessionId: string;
  readonly profile: string;
  readonly expiresAt: string;
  readonly secretVariables: string[];
  readonly #client: CustodyClient;

  constructor(client: CustodyClient, started: SessionStartResponse) {
    this.#client = client;
    this.sessionId = started.sessionId;
    this.profile = started.profile;
    this.expiresAt = started.expiresAt;
    this.secretVariables = [...started.secretVariables];
  }

  /** Runs code in this session, with the state the earlier calls left. */
  run(input: SessionRunInput): Promise<SessionExecutionResponse> {
    return this.#client.runInSession(this.sessionId, input);
  }

  /** The session's status, call count and state size now. */
  get(): Promise<SessionSummary> {
    return this.#client.getSession(this.sessionId);
  }

  /** Ends the session: its state and sealed secrets are destroyed. */
  end(): Promise<SessionEndResponse> {
    return this.#client.endSession(this.sessionId);
  }
}

const EXECUTE_API_HOST = /\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d{1,2})\.amazonaws\.com(?:\.cn)?$/;

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** Parses and checks an endpoint URL; throws CustodyConfigError naming what is wrong. */
export function parseEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new CustodyConfigError(`endpoint "${endpoint}" is not a URL (expected e.g. http://127.0.0.1:8787)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new CustodyConfigError(`endpoint "${endpoint}" must be an http or https URL`);
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new CustodyConfigError(`endpoint "${endpoint}" must not carry a query, fragment or user`);
  }
  return url;
}

/** The region to sign for: explicit, CUSTODY_REGION, the execute-api host's region, AWS_REGION, us-east-1. */
export function resolveRegion(url: URL, explicit: string | undefined, env: NodeJS.ProcessEnv): string {
  return (
    nonEmpty(explicit) ??
    nonEmpty(env.CUSTODY_REGION) ??
    EXECUTE_API_HOST.exec(url.hostname)?.[1] ??
    nonEmpty(env.AWS_REGION) ??
    nonEmpty(env.AWS_DEFAULT_REGION) ??
    'us-east-1'
  );
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export class CustodyClient {
  readonly endpoint: URL;
  readonly region: string;
  private readonly signer: SignatureV4;
  private readonly timeoutMs: number;

  constructor(options: CustodyClientOptions = {}) {
    const env = options.env ?? process.env;
    const endpoint = nonEmpty(options.endpoint) ?? nonEmpty(env.CUSTODY_ENDPOINT);
    if (endpoint === undefined) {
      throw new CustodyConfigError(
        'no custody endpoint: pass { endpoint } or set CUSTODY_ENDPOINT (local mode: http://127.0.0.1:8787; AWS: the stack output ApiUrl)',
      );
    }
    this.endpoint = parseEndpoint(endpoint);
    this.region = resolveRegion(this.endpoint, options.region, env);
    this.timeoutMs = options.timeoutMs ?? 330_000;
    const credentials = options.credentials ?? fromNodeProviderChain();
    this.signer = new SignatureV4({
      service: 'execute-api',
      region: this.region,
      sha256: Sha256,
      credentials,
    });
  }

  /** Runs code. Resolves whatever the code did (see `status`); rejects only if the API refused or failed. */
  execute(input: ExecuteInput): Promise<ExecutionResponse> {
    const body = input.files ? { ...input, files: requestFiles(input.files) } : input;
    return this.request<ExecutionResponse>('POST', '/v1/executions', JSON.stringify(body));
  }

  /** The audit records of one execution (your own, or any if the policy names you an auditor). */
  getExecution(executionId: string): Promise<ExecutionRecords> {
    return this.request<ExecutionRecords>('GET', `/v1/executions/${encodeURIComponent(executionId)}`);
  }

  /** The profiles you may use now. */
  async listProfiles(): Promise<ProfileSummary[]> {
    const out = await this.request<ProfilesResponse>('GET', '/v1/profiles');
    return out.profiles;
  }

  /**
   * Starts a session under a profile: decided like an execution, its secrets read once now and
   * sealed for the session. Resolves a handle whose `run` carries state from call to call.
   */
  async startSession(input: StartSessionInput): Promise<CustodySession> {
    const started = await this.request<SessionStartResponse>('POST', '/v1/sessions', JSON.stringify(input));
    return new CustodySession(this, started);
  }

  /**
   * Runs code in a session (the same answer as `execute`, plus `sessionId`, `sequence` and `state`,
   * whose `dropped` names what could not be carried to the next call). Rejects with
   * CustodySessionEndedError (410) or CustodySessionBusyError (409).
   */
  runInSession(sessionId: string, input: SessionRunInput): Promise<SessionExecutionResponse> {
    const body = input.files ? { ...input, files: requestFiles(input.files) } : input;
    return this.request<SessionExecutionResponse>(
      'POST',
      `${sessionRoute(sessionId)}/executions`,
      JSON.stringify(body),
    );
  }

  /** One of your sessions (404 for an unknown id and for another principal's). */
  getSession(sessionId: string): Promise<SessionSummary> {
    return this.request<SessionSummary>('GET', sessionRoute(sessionId));
  }

  /** Your sessions. */
  async listSessions(): Promise<SessionSummary[]> {
    const out = await this.request<SessionListResponse>('GET', '/v1/sessions');
    return out.sessions;
  }

  /** Ends one of your sessions: its state and sealed secrets are destroyed. */
  endSession(sessionId: string): Promise<SessionEndResponse> {
    return this.request<SessionEndResponse>('DELETE', sessionRoute(sessionId));
  }

  private async request<T>(method: 'GET' | 'POST' | 'DELETE', route: string, body?: string): Promise<T> {
    const base = this.endpoint.pathname.replace(/\/+$/, '');
    const path = `${base}${route}`;
    const headers: Record<string, string> = { host: this.endpoint.host, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let signed: { headers: Record<string, string> };
    try {
      signed = (await this.signer.sign({
        method,
        protocol: this.endpoint.protocol,
        hostname: this.endpoint.hostname,
        ...(this.endpoint.port ? { port: Number(this.endpoint.port) } : {}),
        path,
        query: {},
        headers,
        ...(body !== undefined ? { body } : {}),
      })) as { headers: Record<string, string> };
    } catch (error) {
      throw new CustodyCredentialsError(
        `no AWS credentials to sign with: ${(error as Error).message} (set AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE or AWS_ACCESS_KEY_ID; local mode: AWS_SHARED_CREDENTIALS_FILE=.custody/credentials AWS_PROFILE=agent)`,
        { cause: error },
      );
    }
    const { host: _host, ...sendHeaders } = signed.headers;
    const url = `${this.endpoint.origin}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: sendHeaders,
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } })
        .cause;
      const code = cause?.code ?? cause?.errors?.[0]?.code;
      const reason =
        (error as Error).name === 'TimeoutError'
          ? `no response within ${this.timeoutMs} ms`
          : code === 'ECONNREFUSED'
            ? 'connection refused (is the server running? local mode: npm start)'
            : (code ?? cause?.message ?? (error as Error).message);
      throw new CustodyNetworkError(`cannot reach custody at ${this.endpoint.origin}: ${reason}`, {
        cause: error,
      });
    }
    const text = await response.text();
    let document: unknown;
    try {
      document = text === '' ? undefined : JSON.parse(text);
    } catch {
      document = undefined;
    }
    const requestId = response.headers.get('x-amzn-requestid') ?? undefined;
    if (!response.ok) {
      // The broker's error body (ErrorBody), read field by field: another server may answer less.
      const error = (document as { error?: { [K in keyof ErrorBody['error']]?: unknown } } | undefined)
        ?.error;
      // API Gateway's own refusals are `{ message }` with the type in x-amzn-ErrorType.
      const gatewayType = response.headers.get('x-amzn-errortype')?.split(':')[0];
      const code = asString(error?.code) ?? gatewayType ?? `HTTP_${response.status}`;
      const message =
        asString(error?.message) ??
        asString((document as { message?: unknown } | undefined)?.message) ??
        `HTTP ${response.status} ${response.statusText}`;
      throw apiError(response.status, code, message, {
        ...(asString(error?.executionId) ? { executionId: asString(error?.executionId) } : {}),
        ...(requestId ? { requestId } : {}),
        auditPending: error?.auditPending === true,
      });
    }
    if (document === undefined || typeof document !== 'object') {
      throw new CustodyApiError(
        response.status,
        'INVALID_RESPONSE',
        'the API answered with something that is not JSON',
        {
          ...(requestId ? { requestId } : {}),
        },
      );
    }
    return document as T;
  }
}

function sessionRoute(sessionId: string): string {
  return `/v1/sessions/${encodeURIComponent(sessionId)}`;
}

/** A user-code error as text: `Name: message`, then the traceback when it says more. */
export function describeError(error: { name: string; message: string; traceback: string }): string {
  const head = `${error.name}: ${error.message}`;
  const trace = error.traceback.trimEnd();
  if (trace.trim() === '') return head;
  // A traceback that ends by naming the error already says it (Python's SyntaxError's message adds
  // "(main.py, line 1)" to the last line, so the message alone is not always in it).
  const last = trace.slice(trace.lastIndexOf('\n') + 1);
  const named = last === error.name || last.startsWith(`${error.name}:`);
  return named || trace.includes(error.message) ? trace : `${head}\n${trace}`;
}
