/**
 * Local mode: the deployed API on one machine, with no AWS account.
 *
 * An HTTP server on loopback does what API Gateway does in front of the broker (SigV4 verification
 * against the local identities, a body-size bound, a request id), then calls the same broker core
 * with local adapters: an STS-like minting authority, a secrets file, the sandboxes in-process,
 * and the audit trail on dynalite (a real DynamoDB-compatible server, persisted on disk) plus a
 * JSON-lines audit log. Requests the edge refuses are audited as denials, as CloudTrail and the
 * access log would show them on AWS.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { relative, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createAuditTable } from '../adapters/aws/audit-table.ts';
import { DynamoDbAuditStore } from '../adapters/aws/dynamodb-audit-store.ts';
import { DynamoDbRevocationStore } from '../adapters/aws/dynamodb-revocation-store.ts';
import { DEFAULT_LOCAL_HOST, DEFAULT_LOCAL_PORT, DEFAULT_LOCAL_REGION } from '../adapters/local/config.ts';
import { LocalCredentialsPort } from '../adapters/local/credentials.ts';
import { localDeployment } from '../adapters/local/deployment.ts';
import { embeddedDynamoDbClient } from '../adapters/local/embedded-dynamodb.ts';
import { type LaneOptions, LocalExecutorPort, localSandboxSlots } from '../adapters/local/executor.ts';
import { FileAuditLog } from '../adapters/local/file-audit-log.ts';
import { FileAuditSigner } from '../adapters/local/file-audit-signer.ts';
import { ensureHome, type LocalPaths, localPaths, writeFileAtomic } from '../adapters/local/home.ts';
import { type LocalIdentity, loadOrCreateIdentities } from '../adapters/local/identities.ts';
import { QuickJsWorker } from '../adapters/local/quickjs-worker.ts';
import { ensureSecretsFile, LocalSecretsPort } from '../adapters/local/secrets.ts';
import { type SigV4ErrorCode, verifySigV4 } from '../adapters/local/sigv4.ts';
import { type DigestSchedule, scheduleDigests } from '../audit/digest.ts';
import { reconcileLocalLog } from '../audit/scheduled-reconcile.ts';
import { type BrokerApi, type CallerIdentity, createBrokerApi } from '../broker/api.ts';
import { LOCAL_AUDIT_TABLE_NAME } from '../core/audit-table.ts';
import type { LocalStackInfo } from '../core/local-stack.ts';
import { loadPolicyFile, type Policy } from '../core/policy.ts';
import type { Clock } from '../core/ports.ts';
import type { Sandbox } from '../core/types.ts';
import { createSandbox } from '../sandbox/index.ts';

/** API Gateway's payload limit for a Lambda proxy integration is 6 MB; larger bodies get 413. */
export const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;

export interface LocalServerOptions {
  /** Data directory. @default CUSTODY_HOME, else '.custody' */
  readonly home?: string;
  /** 0 picks a free port. @default 8787 */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Region requests must be signed for. @default 'us-east-1' */
  readonly region?: string;
  /** @default 'custody.policy.json' */
  readonly policyFile?: string;
  /** @default 6 MiB */
  readonly maxBodyBytes?: number;
  /** The clock of signature checks, sessions and audit records. @default () => new Date() */
  readonly clock?: Clock;
  /** The sandbox executions run in. @default createSandbox() from lambda/sandbox */
  readonly sandbox?: Sandbox;
  /** How runs are admitted to each sandbox (`lambda/adapters/local/executor.ts`). @default localSandboxSlots() each */
  readonly queues?: { readonly javascript?: LaneOptions; readonly python?: LaneOptions };
  /** How often a signed digest of new audit records is written. @default 60_000 */
  readonly digestIntervalMs?: number;
  /**
   * An already running DynamoDB-compatible endpoint for the audit table, instead of the embedded
   * dynalite (the load tests stop it to inject an audit-store outage). @default dynalite under the data directory
   */
  readonly dynamodbEndpoint?: string;
}

export interface LocalServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly region: string;
  readonly paths: LocalPaths;
  readonly policy: Policy;
  readonly identities: readonly LocalIdentity[];
  readonly info: LocalStackInfo;
  /** Whether this start generated access keys (first start, or principals new to the policy). */
  readonly generatedKeys: boolean;
  readonly credentials: LocalCredentialsPort;
  readonly secrets: LocalSecretsPort;
  readonly executor: LocalExecutorPort;
  /** The kill switch's state (in the audit table), read on every request. */
  readonly revocations: DynamoDbRevocationStore;
  readonly auditStore: DynamoDbAuditStore;
  readonly auditLog: FileAuditLog;
  /** The signed-digest timer; `runNow()` digests what has settled. */
  readonly digests: DigestSchedule;
  /** Stops accepting requests, finishes the ones in flight, then closes the sandbox and dynalite. */
  close(): Promise<void>;
}

export class LocalServerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LocalServerError';
  }
}

// dynalite ships no types: its factory returns a node http.Server whose close() also closes LevelDB.
const dynalite = createRequire(import.meta.url)('dynalite') as (options: {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;

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

function pairs(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i] as string, raw[i + 1] as string]);
  return out;
}

/** Claims the data directory for this process, refusing if another live server holds it. */
function claimHome(paths: LocalPaths): string {
  const lock = `${paths.home}/server.pid`;
  try {
    const pid = Number(readFileSync(lock, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 0);
        throw new LocalServerError(
          `another custody local server (pid ${pid}) is using ${paths.home}; stop it, or set CUSTODY_HOME to another directory`,
        );
      } catch (error) {
        if (error instanceof LocalServerError) throw error;
        // ESRCH: the process is gone; its lock is stale.
      }
    }
  } catch (error) {
    if (error instanceof LocalServerError) throw error;
  }
  writeFileSync(lock, `${process.pid}\n`, { mode: 0o600 });
  return lock;
}

async function listen(server: Server, port: number, host: string): Promise<number> {
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

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const region = options.region ?? DEFAULT_LOCAL_REGION;
  const host = options.host ?? DEFAULT_LOCAL_HOST;
  const clock = options.clock ?? (() => new Date());
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const policyFile = options.policyFile ?? 'custody.policy.json';
  const policy = loadPolicyFile(policyFile);
  const paths = localPaths(options.home);
  ensureHome(paths);
  const lock = claimHome(paths);

  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(lock, { force: true })];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) {
      try {
        await step();
      } catch {
        // Keep closing the rest.
      }
    }
  };

  try {
    const { identities, generated } = loadOrCreateIdentities(paths, policy);
    ensureSecretsFile(paths.secretsFile, policy);
    const byAccessKey = new Map(identities.map((i) => [i.accessKeyId, i]));

    // The audit store: dynalite on a free loopback port, persisted under the data directory.
    // The server's own calls go to it in process (embedded-dynamodb.ts); it also listens on loopback
    // for the CLI.
    let dynamodbEndpoint = options.dynamodbEndpoint;
    let dynamo: DynamoDBClient;
    if (dynamodbEndpoint === undefined) {
      const db = dynalite({ path: paths.dynamodbDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
      const dbPort = await listen(db, 0, '127.0.0.1');
      cleanups.push(() => {
        db.closeAllConnections();
        return new Promise<void>((resolve) => db.close(() => resolve()));
      });
      dynamodbEndpoint = `http://127.0.0.1:${dbPort}`;
      dynamo = embeddedDynamoDbClient(db, dynamodbEndpoint, region);
    } else {
      dynamo = new DynamoDBClient({
        endpoint: dynamodbEndpoint,
        region,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
    }
    cleanups.push(() => dynamo.destroy());
    const auditTableName = LOCAL_AUDIT_TABLE_NAME;
    await createAuditTable(dynamo, auditTableName);
    const auditStore = new DynamoDbAuditStore({ client: dynamo, tableName: auditTableName, clock });
    const auditLog = new FileAuditLog(paths.auditLog);
    cleanups.push(() => auditLog.close());
    const signer = await FileAuditSigner.open(paths.auditSigningKey);
    const digests = scheduleDigests({
      client: dynamo,
      tableName: auditTableName,
      signer,
      log: auditLog,
      clock,
      intervalMs: options.digestIntervalMs ?? 60_000,
      onError: (error) => process.stderr.write(`custody: audit digest failed: ${(error as Error).message}\n`),
      // Records only in .custody/audit.log (auditPending) enter the table before each digest.
      beforeEach: () => reconcileLocalLog(auditStore, auditLog, clock),
    });
    cleanups.push(() => digests.stop());

    const deployment = localDeployment(policy, region);
    // `custody revoke` writes this state straight into the table; it applies to the next request.
    const revocations = new DynamoDbRevocationStore({ client: dynamo, tableName: auditTableName, clock });
    const credentials = new LocalCredentialsPort({
      deployment,
      clock,
      stsLogFile: paths.stsLog,
      revocations,
    });
    cleanups.push(() => credentials.close());
    const secrets = new LocalSecretsPort({ file: paths.secretsFile, credentials, deployment });
    let sandbox = options.sandbox;
    if (!sandbox) {
      // JavaScript in a worker thread: its garbage collection does not pause this one (quickjs-worker.ts).
      // As many runs of each language as the fair queues admit (lambda/adapters/local/executor.ts).
      const slots = localSandboxSlots();
      const own = createSandbox({
        maxConcurrent: slots,
        javascript: (quickJs) => new QuickJsWorker({ sandbox: quickJs, threads: slots }),
      });
      cleanups.push(() => own.close());
      // Prepare Python (snapshot, pre-started process) while the server starts taking requests.
      own.warmUp().catch((error: unknown) => {
        process.stderr.write(`custody: Python sandbox warm-up failed: ${(error as Error).message}\n`);
      });
      sandbox = own;
    }
    const executor = new LocalExecutorPort({ sandbox, credentials, ...options.queues });
    const broker = createBrokerApi({
      policy,
      deployment,
      credentials,
      secrets,
      executor,
      auditStore,
      auditLog,
      revocations,
      clock,
      origin: 'local',
      // The store retries itself, as on AWS (lambda/handlers/broker.ts): one round here.
      auditRetry: { attempts: 1 },
    });

    const serve = (req: IncomingMessage, res: ServerResponse) => {
      handleRequest(req, res, { broker, byAccessKey, region, clock, maxBodyBytes }).catch(() => {
        if (!res.headersSent) {
          sendJson(res, 500, { error: { code: 'INTERNAL_ERROR', message: 'Internal error.' } });
        } else res.destroy();
      });
    };
    const http = createServer(serve);
    // A client that asks before sending (`Expect: 100-continue`, as curl does for large bodies) is
    // told 413 before it sends an oversized body, and only an acceptable one is invited.
    http.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      const declared = Number(req.headers['content-length'] ?? '0');
      if (!(Number.isFinite(declared) && declared > maxBodyBytes)) res.writeContinue();
      serve(req, res);
    });
    http.keepAliveTimeout = 5_000;
    const port = await listen(http, options.port ?? DEFAULT_LOCAL_PORT, host);
    cleanups.push(() => closeServer(http));
    const url = `http://${host}:${port}`;

    const info: LocalStackInfo = {
      apiEndpoint: url,
      dynamodbEndpoint,
      auditTableName,
      region,
      credentialsFile: paths.credentialsFile,
      auditLog: paths.auditLog,
      secretsFile: paths.secretsFile,
      auditPublicKey: `${paths.auditSigningKey}.pub.pem`,
      profiles: identities.map((i) => i.profileName),
      policyFile: resolve(policyFile),
      pid: process.pid,
      startedAt: clock().toISOString(),
    };
    writeFileAtomic(paths.localJson, `${JSON.stringify(info, null, 2)}\n`, 0o644);

    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      region,
      paths,
      policy,
      identities,
      info,
      generatedKeys: generated,
      credentials,
      secrets,
      executor,
      revocations,
      auditStore,
      auditLog,
      digests,
      close() {
        closing ??= cleanup();
        return closing;
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

interface HandlerContext {
  readonly broker: BrokerApi;
  readonly byAccessKey: ReadonlyMap<string, LocalIdentity>;
  readonly region: string;
  readonly clock: Clock;
  readonly maxBodyBytes: number;
}

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...JSON_HEADERS, ...headers, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

type BodyResult = { ok: true; body: Buffer } | { ok: false; reason: 'too-large' | 'aborted' };

/**
 * How much of an oversized body is read and dropped before the 413 is sent. Clients that write
 * the whole body before reading (Python's urllib, botocore) see a broken pipe instead of the 413
 * if the server answers and closes while they are still writing; draining lets them finish. A
 * body declared or found larger than this, or slower than `DRAIN_TIMEOUT_MS`, is answered at once.
 */
export const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
const DRAIN_TIMEOUT_MS = 10_000;

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

async function handleRequest(req: IncomingMessage, res: ServerResponse, ctx: HandlerContext): Promise<void> {
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
    sendJson(res, status, { error: { code, message } }, { ...idHeader, ...headers });
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
    sendJson(
      res,
      400,
      { error: { code: 'INVALID_REQUEST', message: 'path: malformed percent-encoding' } },
      idHeader,
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
  res.writeHead(response.statusCode, {
    ...response.headers,
    ...idHeader,
    'content-length': Buffer.byteLength(response.body),
  });
  res.end(response.body);
}

/** Relative form of a path for printing (`.custody/credentials` rather than an absolute path). */
export function displayPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  return rel === '' || rel.startsWith('..') ? path : rel;
}
