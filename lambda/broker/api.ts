/**
 * The broker core behind the HTTP API, free of Lambda and of AWS: the API Gateway handler and the
 * local HTTP server both call `handle` with a request whose caller the edge has authenticated.
 *
 *   POST /v1/executions        run code under a profile (steps 1-10 of DESIGN.md)
 *   GET  /v1/executions/{id}   the audit records of one execution (own caller, or an auditor)
 *   GET  /v1/profiles          the profiles this caller may use now
 *
 * `handle` never throws: every failure becomes `{ error: { code, message } }` with the status of
 * its CustodyError (400, 403, 404, 405, 413, 429, 503), and anything unforeseen a bare 500.
 */
import { performance } from 'node:perf_hooks';
import type { ExecutionResponse } from '../core/api-schema.ts';
import type { AuditCaller, AuditRecord, AuditRequest, AuditRole } from '../core/audit-record.ts';
import { sha256Hex } from '../core/canonical-json.ts';
import type { Deployment } from '../core/deployment.ts';
import {
  CustodyError,
  DeniedError,
  DependencyError,
  NotFoundError,
  PayloadTooLargeError,
  ValidationError,
} from '../core/errors.ts';
import { newUlid } from '../core/ids.ts';
import { Metric, type Phase } from '../core/metrics.ts';
import { type MetricsSink, NoopMetrics } from '../core/metrics-sink.ts';
import type { Policy, Principal } from '../core/policy.ts';
import type {
  AssumedSession,
  AuditLog,
  AuditStore,
  Clock,
  CredentialsPort,
  ExecutionContext,
  ExecutorPort,
  RevocationPort,
  RevocationState,
  SecretRef,
  SecretsPort,
} from '../core/ports.ts';
import type { SandboxRequest, SandboxResult } from '../core/types.ts';
import { AuditTrail } from './audit-trail.ts';
import { storableText } from './credential-scan.ts';
import { type Decision, decide, usableProfiles } from './decision.ts';
import { identify } from './identity.ts';
import { type ExecutionRequest, MAX_BODY_BYTES, parseExecutionRequest } from './request.ts';
import { type SecretValue, seal } from './seal.ts';
import { assumeRoleInput } from './session.ts';

// The execution answer and the deployment are stated once, in core (api-schema.ts, deployment.ts).
export type { ExecutionResponse } from '../core/api-schema.ts';
export type { Deployment } from '../core/deployment.ts';

export interface CallerIdentity {
  /** The ARN the request was signed by (API Gateway `requestContext.identity.userArn`). */
  arn: string;
  accountId?: string;
  accessKeyId?: string;
  sourceIp?: string;
  userAgent?: string;
}

export interface ApiRequest {
  method: string;
  path: string;
  body: string | null;
  caller: CallerIdentity;
  requestId?: string;
}

export interface ApiResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export interface BrokerDeps {
  policy: Policy;
  deployment: Deployment;
  credentials: CredentialsPort;
  secrets: SecretsPort;
  executor: ExecutorPort;
  auditStore: AuditStore;
  auditLog: AuditLog;
  /**
   * The kill switch (`custody revoke`): read on every execution; a suspended principal or a
   * revoked profile is refused (403), and an unreadable state refuses everything (503).
   * @default - no kill switch
   */
  revocations?: RevocationPort;
  /** @default () => new Date() */
  clock?: Clock;
  origin: 'aws' | 'local';
  /** @default NoopMetrics */
  metrics?: MetricsSink;
  /** @default a ULID from the clock */
  newExecutionId?: () => string;
  /** Audit store retries (after the first attempt fails). @default { attempts: 3, baseDelayMs: 50 } */
  auditRetry?: { attempts?: number; baseDelayMs?: number; sleep?: (ms: number) => Promise<void> };
  /** Last-resort sink for an audit record neither the store nor the log took. @default stderr */
  auditFallback?: (line: string) => void;
}

export interface BrokerApi {
  handle(req: ApiRequest): Promise<ApiResponse>;
  recordEdgeDenial(input: {
    caller: CallerIdentity;
    reason: string;
    message: string;
    method: string;
    path: string;
  }): Promise<void>;
}

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

function errorResponse(
  error: CustodyError,
  extra: { executionId?: string; auditPending?: boolean } = {},
  headers: Record<string, string> = {},
): ApiResponse {
  return json(
    error.httpStatus,
    {
      error: {
        code: error.code,
        message: error.message,
        ...(extra.executionId ? { executionId: extra.executionId } : {}),
        ...(extra.auditPending ? { auditPending: true } : {}),
      },
    },
    headers,
  );
}

/** Maps a refusal reason to its typed error (and so its HTTP status). */
function refusalError(decision: Extract<Decision, { allowed: false }>): CustodyError {
  if (decision.reason === 'INVALID_REQUEST') return new ValidationError(decision.message);
  if (decision.reason === 'PAYLOAD_TOO_LARGE') return new PayloadTooLargeError(decision.message);
  return new DeniedError(decision.reason, decision.message);
}

const SANDBOX_LIMIT_STATUSES = new Set(['timed_out', 'out_of_memory', 'output_limit']);

/** Wraps anything an adapter threw into a CustodyError naming the dependency (fail closed). */
function asDependencyError(error: unknown, dependency: string): CustodyError {
  if (error instanceof CustodyError) return error;
  return new DependencyError(
    dependency,
    `The ${dependency} service failed; the execution did not complete.`,
    {
      cause: error,
    },
  );
}

export function createBrokerApi(deps: BrokerDeps): BrokerApi {
  const clock = deps.clock ?? (() => new Date());
  const metrics = deps.metrics ?? new NoopMetrics();
  const newExecutionId = deps.newExecutionId ?? (() => newUlid(clock()));
  const trail = new AuditTrail({
    store: deps.auditStore,
    log: deps.auditLog,
    metrics,
    attempts: deps.auditRetry?.attempts,
    baseDelayMs: deps.auditRetry?.baseDelayMs,
    sleep: deps.auditRetry?.sleep,
    fallback: deps.auditFallback,
  });
  const { policy } = deps;

  function auditCaller(caller: CallerIdentity, principal?: Principal): AuditCaller {
    return {
      arn: caller.arn === '' ? 'anonymous' : caller.arn,
      ...(principal ? { principalArn: principal.arn, principalId: principal.id } : {}),
      ...(caller.accountId ? { accountId: caller.accountId } : {}),
      ...(caller.accessKeyId ? { accessKeyId: caller.accessKeyId } : {}),
      ...(caller.sourceIp ? { sourceIp: caller.sourceIp } : {}),
      ...(caller.userAgent ? { userAgent: storableText(caller.userAgent.slice(0, 512)) } : {}),
    };
  }

  function baseRecord(
    executionId: string,
    event: AuditRecord['event'],
    caller: AuditCaller,
    request: AuditRequest,
    decision: AuditRecord['decision'],
  ): AuditRecord {
    return {
      schemaVersion: 1,
      executionId,
      event,
      timestamp: clock().toISOString(),
      caller,
      request,
      decision,
      origin: deps.origin,
    };
  }

  /** What the audit keeps of a request. Code in full only when allowed and the profile says so. */
  function auditRequest(request: Partial<ExecutionRequest> | undefined, includeCode: boolean): AuditRequest {
    if (!request) return {};
    const out: { -readonly [K in keyof AuditRequest]: AuditRequest[K] } = {};
    if (request.profile !== undefined) out.profile = storableText(request.profile);
    if (request.language !== undefined) out.language = request.language;
    if (request.code !== undefined) {
      out.codeSha256 = sha256Hex(request.code);
      out.codeBytes = Buffer.byteLength(request.code, 'utf8');
      if (includeCode) out.code = request.code;
    }
    if (request.purpose !== undefined) out.purpose = storableText(request.purpose);
    if (request.files !== undefined) out.fileNames = Object.keys(request.files).map(storableText);
    return out;
  }

  async function refuse(
    executionId: string,
    caller: AuditCaller,
    request: Partial<ExecutionRequest> | undefined,
    error: CustodyError,
    timingsMs: Record<string, number>,
    where: 'store and log' | 'log only' = 'store and log',
  ): Promise<ApiResponse> {
    const record: AuditRecord = {
      ...baseRecord(executionId, 'denied', caller, auditRequest(request, false), {
        allowed: false,
        reason: error.code,
        message: storableText(error.message),
      }),
      timingsMs,
    };
    metrics.count(Metric.Denials, 1);
    metrics.count(Metric.Denials, 1, { Reason: error.code });
    if (error.code === 'HARDCODED_CREDENTIAL') metrics.count(Metric.HardcodedCredentialAttempts, 1);
    const { pending } = where === 'log only' ? await trail.refuseInLog(record) : await trail.finish(record);
    return errorResponse(error, { executionId, auditPending: pending });
  }

  async function postExecution(req: ApiRequest): Promise<ApiResponse> {
    const started = performance.now();
    const executionId = newExecutionId();
    const timings: Partial<Record<Phase, number>> = {};
    let mark = started;
    const lap = (phase: Phase) => {
      const now = performance.now();
      timings[phase] = Math.round((now - mark) * 1000) / 1000;
      mark = now;
    };

    // 1. identify
    const identity = identify(policy, req.caller);
    if (!identity.matched) {
      return refuse(
        executionId,
        auditCaller(req.caller),
        undefined,
        new DeniedError(identity.reason, identity.message),
        timings,
      );
    }
    const { principal } = identity;
    const caller = auditCaller(req.caller, principal);

    // 2. validate
    let request: ExecutionRequest;
    try {
      if (req.body !== null && Buffer.byteLength(req.body, 'utf8') > MAX_BODY_BYTES) {
        throw new PayloadTooLargeError(`body: larger than ${MAX_BODY_BYTES} bytes`);
      }
      request = parseExecutionRequest(req.body);
    } catch (error) {
      if (!(error instanceof CustodyError)) throw error;
      return refuse(executionId, caller, undefined, error, timings);
    }
    lap('validate');

    // 3. decide: the kill switch first (a suspended principal runs nothing), then the policy,
    // then whether the profile is revoked (so a caller without a grant learns nothing of it).
    let revokedProfile: RevocationState | undefined;
    const revocationReadAt = clock();
    if (deps.revocations) {
      let principalState: RevocationState | undefined;
      try {
        [principalState, revokedProfile] = await Promise.all([
          deps.revocations.get('principal', principal.id),
          Object.hasOwn(policy.profiles, request.profile)
            ? deps.revocations.get('profile', request.profile)
            : undefined,
        ]);
      } catch (error) {
        metrics.count(Metric.DependencyFailures, 1, { Dependency: 'revocation' });
        return refuse(executionId, caller, request, asDependencyError(error, 'revocation'), timings);
      }
      if (principalState?.revoked) {
        return refuse(executionId, caller, request, suspendedError(principal.id, principalState), timings);
      }
    }
    const decision = decide({ policy, principal, request, now: clock() });
    lap('decide');
    if (!decision.allowed) return refuse(executionId, caller, request, refusalError(decision), timings);
    const { profile, profileName, limits } = decision;
    if (revokedProfile?.revoked) {
      return refuse(executionId, caller, request, revokedError(profileName, revokedProfile), timings);
    }
    // The state just read, for this request's own secrets and executor calls (read once per request).
    const context: ExecutionContext = deps.revocations
      ? { profileRevocation: { profile: profileName, state: revokedProfile, readAt: revocationReadAt } }
      : {};

    const deployed = Object.hasOwn(deps.deployment.profiles, profileName)
      ? deps.deployment.profiles[profileName]
      : undefined;
    const secretRefs: SecretRef[] = [];
    for (const secret of profile.secrets) {
      const secretId = deployed?.secrets[secret.variable];
      if (secretId) secretRefs.push({ variable: secret.variable, secretId });
    }
    if (!deployed || secretRefs.length !== profile.secrets.length) {
      metrics.count(Metric.DependencyFailures, 1, { Dependency: 'policy' });
      return refuse(
        executionId,
        caller,
        request,
        new DependencyError('policy', `Profile "${profileName}" is not fully deployed; redeploy the stack.`),
        timings,
      );
    }

    const allowed = { allowed: true, reason: 'ALLOWED' } as const;
    const auditedRequest: AuditRequest = {
      ...auditRequest(request, profile.auditCode === 'full'),
      timeoutMs: limits.timeoutMs,
    };
    const secretVariables = profile.secrets.map((s) => s.variable);

    // 4 and 5, at once: audit "started" and assume the profile's role for this execution only.
    // AssumeRole runs nothing, so it overlaps the started write; nothing below runs until BOTH are
    // done, and if the started record was not stored the session is dropped unused (503).
    const overlapFrom = mark;
    const phaseMs = (from: number) => Math.round((performance.now() - from) * 1000) / 1000;
    const startWrite = trail
      .start({
        ...baseRecord(executionId, 'started', caller, auditedRequest, allowed),
        secretVariables,
      })
      .then((started) => {
        timings.auditStart = phaseMs(overlapFrom);
        return started;
      });
    const assumed = (async () => {
      const out = await deps.credentials.assumeRole(
        assumeRoleInput({
          roleArn: deployed.roleArn,
          executorArn: deployed.executorArn,
          secretIds: secretRefs.map((s) => s.secretId),
          principalId: principal.id,
          callerArn: req.caller.arn,
          executionId,
          profile: profileName,
        }),
      );
      timings.assume = phaseMs(overlapFrom);
      return out;
    })();
    const [startOutcome, assumeOutcome] = await Promise.allSettled([startWrite, assumed]);
    mark = performance.now();
    if (startOutcome.status === 'rejected') {
      // Nothing runs; the refusal still goes to the audit log (pending: reconcile copies it to the table).
      const failure = asDependencyError(startOutcome.reason, 'audit');
      return refuse(executionId, caller, request, failure, timings, 'log only');
    }
    // The started line goes to the audit log while the code runs; every answer below waits for it.
    const startLogged = startOutcome.value.logged;

    let session: AssumedSession | undefined;
    let secretValues: SecretValue[] = [];
    const failWith = async (error: unknown, dependency: string): Promise<ApiResponse> => {
      const failure = asDependencyError(error, dependency);
      const failedDependency = failure instanceof DependencyError ? failure.dependency : dependency;
      metrics.count(Metric.DependencyFailures, 1, { Dependency: failedDependency });
      timings.total = Math.round((performance.now() - started) * 1000) / 1000;
      await startLogged;
      const { pending } = await trail.finish({
        ...baseRecord(executionId, 'completed', caller, auditedRequest, allowed),
        ...(session ? { role: roleOf(session) } : {}),
        secretVariables,
        outcome: {
          status: 'error',
          redactions: 0,
          truncated: false,
          errorName: failure.code,
          errorMessage: failure.message,
        },
        timingsMs: timings,
      });
      return errorResponse(failure, { executionId, auditPending: pending });
    };

    if (assumeOutcome.status === 'rejected') return failWith(assumeOutcome.reason, 'credentials');
    session = assumeOutcome.value;
    const sessionSecrets: SecretValue[] = [
      { label: 'session-credentials', value: session.credentials.accessKeyId },
      { label: 'session-credentials', value: session.credentials.secretAccessKey },
      { label: 'session-credentials', value: session.credentials.sessionToken },
    ];

    // 6. secrets, read WITH the session
    let env: Record<string, string> = {};
    if (secretRefs.length > 0) {
      try {
        env = await deps.secrets.read(session, secretRefs, context);
      } catch (error) {
        return failWith(error, 'secrets');
      }
      secretValues = Object.entries(env).map(([label, value]) => ({ label, value }));
    }
    lap('secrets');
    metrics.count(Metric.SecretsInjected, secretValues.length);

    // 7. execute WITH the session
    const sandboxRequest: SandboxRequest = {
      executionId,
      language: request.language,
      code: request.code,
      limits,
      ...(request.files ? { files: request.files } : {}),
      ...(secretRefs.length > 0 ? { env } : {}),
    };
    let result: SandboxResult;
    try {
      result = await deps.executor.run(session, profileName, sandboxRequest, context);
    } catch (error) {
      return failWith(error, 'executor');
    }
    lap('execute');

    // 8. seal
    const sealed = seal(result, [...secretValues, ...sessionSecrets]);
    lap('seal');

    // 9. audit "completed"
    const record: AuditRecord = {
      ...baseRecord(executionId, 'completed', caller, auditedRequest, allowed),
      role: roleOf(session),
      secretVariables,
      outcome: {
        status: sealed.output.status,
        outputSha256: sealed.outputSha256,
        redactions: sealed.redactions,
        truncated: sealed.output.truncated,
        ...(sealed.output.error ? { errorName: sealed.output.error.name } : {}),
      },
      timingsMs: timings,
    };
    const auditStarted = performance.now();
    await startLogged;
    const { pending } = await trail.finish(record);
    timings.auditComplete = Math.round((performance.now() - auditStarted) * 1000) / 1000;
    timings.total = Math.round((performance.now() - started) * 1000) / 1000;

    metrics.count(Metric.Executions, 1);
    metrics.count(Metric.Redactions, sealed.redactions);
    if (sealed.output.status === 'failed') metrics.count(Metric.UserCodeFailures, 1);
    if (SANDBOX_LIMIT_STATUSES.has(sealed.output.status)) {
      metrics.count(Metric.SandboxLimitHits, 1, { Status: sealed.output.status });
    }
    for (const [phase, ms] of Object.entries(timings)) {
      metrics.milliseconds(Metric.PhaseLatency, ms, { Phase: phase });
    }

    // 10. respond
    const { output } = sealed;
    const body: ExecutionResponse = {
      executionId,
      status: output.status,
      stdout: output.stdout,
      stderr: output.stderr,
      ...(output.result !== undefined ? { result: output.result } : {}),
      ...(output.error ? { error: output.error } : {}),
      ...(Object.keys(output.files).length > 0 ? { files: output.files } : {}),
      truncated: output.truncated,
      durationMs: result.timings.runMs,
      codeSha256: auditedRequest.codeSha256 ?? sha256Hex(request.code),
      outputSha256: sealed.outputSha256,
      role: { arn: session.roleArn, sessionName: session.sessionName },
      ...(pending ? { auditPending: true as const } : {}),
    };
    return json(200, body, { 'x-custody-execution-id': executionId });
  }

  async function getExecution(req: ApiRequest, executionId: string): Promise<ApiResponse> {
    const notFound = new NotFoundError(`No execution ${executionId} visible to the caller.`);
    const identity = identify(policy, req.caller);
    if (!identity.matched || !/^[\w-]{1,64}$/.test(executionId)) return errorResponse(notFound);
    let records: AuditRecord[];
    try {
      records = await deps.auditStore.get(executionId);
    } catch (error) {
      throw new DependencyError('audit', 'The audit store is unavailable.', { cause: error });
    }
    const { principal } = identity;
    const own = records.some((r) => r.caller.principalArn === principal.arn);
    if (records.length === 0 || !(own || principal.auditor)) return errorResponse(notFound);
    return json(200, { executionId, records });
  }

  /** The usable profiles minus revoked ones; refuses a suspended principal. Fails closed. */
  async function unrevokedProfiles(principal: Principal, names: string[]): Promise<string[]> {
    const revocations = deps.revocations;
    if (!revocations) return names;
    let principalState: RevocationState | undefined;
    let profileStates: (RevocationState | undefined)[];
    try {
      [principalState, profileStates] = await Promise.all([
        revocations.get('principal', principal.id),
        Promise.all(names.map((name) => revocations.get('profile', name))),
      ]);
    } catch (error) {
      metrics.count(Metric.DependencyFailures, 1, { Dependency: 'revocation' });
      throw asDependencyError(error, 'revocation');
    }
    if (principalState?.revoked) throw suspendedError(principal.id, principalState);
    return names.filter((_, i) => !profileStates[i]?.revoked);
  }

  async function getProfiles(req: ApiRequest): Promise<ApiResponse> {
    const identity = identify(policy, req.caller);
    if (!identity.matched) throw new DeniedError(identity.reason, identity.message);
    const names = await unrevokedProfiles(
      identity.principal,
      usableProfiles(policy, identity.principal, clock()),
    );
    const profiles = names.map((name) => {
      const p = policy.profiles[name];
      if (!p) throw new Error(`profile ${name} vanished`);
      return {
        name,
        description: p.description,
        languages: p.languages,
        limits: {
          timeoutMs: p.timeoutMs,
          memoryMiB: p.memoryMiB,
          maxCodeBytes: p.maxCodeBytes,
          maxOutputBytes: p.maxOutputBytes,
        },
        secretVariables: p.secrets.map((s) => s.variable),
        approvedCode: p.approvedCode.mode,
        auditCode: p.auditCode,
      };
    });
    return json(200, { profiles });
  }

  async function route(req: ApiRequest): Promise<ApiResponse> {
    const path = req.path.length > 1 ? req.path.replace(/\/+$/, '') : req.path;
    const method = req.method.toUpperCase();
    const notAllowed = (allow: string) =>
      errorResponse(
        new CustodyError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}; use ${allow}.`, 405),
        {},
        { allow },
      );
    if (path === '/v1/executions') {
      return method === 'POST' ? postExecution(req) : notAllowed('POST');
    }
    const match = /^\/v1\/executions\/([^/]+)$/.exec(path);
    if (match) {
      if (method !== 'GET') return notAllowed('GET');
      let id: string;
      try {
        id = decodeURIComponent(match[1] as string);
      } catch {
        return errorResponse(new NotFoundError('No such execution.'));
      }
      return getExecution(req, id);
    }
    if (path === '/v1/profiles') return method === 'GET' ? getProfiles(req) : notAllowed('GET');
    return errorResponse(new NotFoundError(`No route ${path}.`));
  }

  return {
    async handle(req) {
      try {
        return await route(req);
      } catch (error) {
        if (error instanceof CustodyError) return errorResponse(error);
        return json(500, { error: { code: 'INTERNAL_ERROR', message: 'Internal error.' } });
      } finally {
        try {
          metrics.flush();
        } catch {
          // Metrics are best effort; the audit trail is the record.
        }
      }
    },

    async recordEdgeDenial({ caller, reason, message, method, path }) {
      const executionId = newExecutionId();
      const identity = identify(policy, caller);
      const record = baseRecord(
        executionId,
        'denied',
        auditCaller(caller, identity.matched ? identity.principal : undefined),
        {},
        { allowed: false, reason, message: storableText(`${method} ${path}: ${message}`) },
      );
      metrics.count(Metric.Denials, 1);
      metrics.count(Metric.Denials, 1, { Reason: reason });
      try {
        await trail.finish(record);
      } finally {
        try {
          metrics.flush();
        } catch {
          // best effort
        }
      }
    },
  };
}

function suspendedError(principalId: string, state: RevocationState): DeniedError {
  return new DeniedError(
    'PRINCIPAL_SUSPENDED',
    `The grants of principal "${principalId}" were suspended at ${state.revokedAt}; nothing runs for it until an operator reinstates it.`,
  );
}

function revokedError(profileName: string, state: RevocationState): DeniedError {
  return new DeniedError(
    'PROFILE_REVOKED',
    `Profile "${profileName}" was revoked at ${state.revokedAt}; nothing runs under it until an operator reinstates it.`,
  );
}

function roleOf(session: AssumedSession): AuditRole {
  return {
    arn: session.roleArn,
    assumedRoleArn: session.assumedRoleArn,
    sessionName: session.sessionName,
    sourceIdentity: session.sourceIdentity,
  };
}
