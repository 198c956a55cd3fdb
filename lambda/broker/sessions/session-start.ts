/**
 * `POST /v1/sessions`: the same decision as an execution (grant and its JIT window, kill switch,
 * profile deployed), then, once per session: its own role session (tagged with the session id),
 * the profile's secrets read WITH it, a data key bound to the session and the principal, the
 * secrets sealed under it into the session's record, and a `session_started` record.
 *
 * The TTL is the least of: the ttl asked (else the profile's `maxSessionSeconds`), the profile's
 * `maxSessionSeconds`, and the end of the caller's JIT window for the profile.
 */
import {
  type SessionStartRequest,
  type SessionStartResponse,
  sessionStartRequestSchema,
} from '../../core/api-schema.ts';
import { CustodyError } from '../../core/errors.ts';
import { newUlid } from '../../core/ids.ts';
import { Metric } from '../../core/metrics.ts';
import type { SessionRecord } from '../../core/session.ts';
import { ALLOWED, baseRecord } from '../audit-records.ts';
import type { CallerIdentity } from '../caller.ts';
import type { BrokerContext } from '../context.ts';
import { decideSessionStart, grantWindowEnd } from '../decision.ts';
import { asDependencyError, refuse } from '../refusal.ts';
import { parseBody } from '../request.ts';
import { assume } from '../steps/assume.ts';
import { authorize } from '../steps/decide.ts';
import { identifyCaller } from '../steps/identify.ts';
import { readSecrets } from '../steps/secrets.ts';
import { PhaseTimings } from '../timings.ts';
import { sealBox } from './seal-box.ts';
import { sessionDeps } from './session-access.ts';

export type SessionStartOutcome =
  | { readonly started: true; readonly body: SessionStartResponse }
  | {
      readonly started: false;
      readonly executionId: string;
      readonly error: CustodyError;
      readonly auditPending: boolean;
    };

function failed(outcome: {
  readonly executionId: string;
  readonly error: CustodyError;
  readonly auditPending: boolean;
}): SessionStartOutcome {
  return { started: false, ...outcome };
}

export async function startSession(
  ctx: BrokerContext,
  req: { readonly body: string | null; readonly caller: CallerIdentity },
): Promise<SessionStartOutcome> {
  const deps = sessionDeps(ctx);
  const timings = new PhaseTimings();
  const timingsMs = timings.phases;
  // The id of the start event (its audit records); the session has its own id.
  const executionId = ctx.newExecutionId();

  const identified = identifyCaller(ctx.policy, req.caller);
  const { caller } = identified;
  if (!identified.ok) {
    const refused = await refuse(ctx, {
      executionId,
      caller,
      request: undefined,
      error: identified.error,
      timingsMs,
    });
    return failed({ executionId, error: identified.error, auditPending: refusedPending(refused) });
  }
  const { principal } = identified;

  let request: SessionStartRequest;
  try {
    request = parseBody(sessionStartRequestSchema, req.body);
  } catch (error) {
    if (!(error instanceof CustodyError)) throw error;
    const refused = await refuse(ctx, { executionId, caller, request: undefined, error, timingsMs });
    return failed({ executionId, error, auditPending: refusedPending(refused) });
  }
  timings.lap('validate');
  const audited = {
    profile: request.profile,
    ...(request.purpose !== undefined ? { purpose: request.purpose } : {}),
  };

  const authorized = await authorize(ctx, principal, request, timings, (now) =>
    decideSessionStart({ policy: ctx.policy, principal, request, now }),
  );
  if (authorized instanceof CustodyError) {
    const refused = await refuse(ctx, {
      executionId,
      caller,
      request: audited,
      error: authorized,
      timingsMs,
    });
    return failed({ executionId, error: authorized, auditPending: refusedPending(refused) });
  }

  const now = ctx.clock();
  const sessionId = `ses_${newUlid(now)}`;
  const maxSeconds = authorized.profile.maxSessionSeconds;
  const ttlSeconds = Math.min(request.ttlSeconds ?? maxSeconds, maxSeconds);
  const windowEnd = grantWindowEnd(principal, authorized.profileName, now);
  const expiresMs = Math.min(
    now.getTime() + ttlSeconds * 1000,
    windowEnd?.getTime() ?? Number.POSITIVE_INFINITY,
  );
  const expiresAt = new Date(expiresMs).toISOString();
  const secretVariables = authorized.profile.secrets.map((s) => s.variable);
  const session = { sessionId, expiresAt };

  // Read the secrets once, with the session-start role session, and seal them under a fresh key.
  let record: SessionRecord;
  try {
    const assumed = await failingAs('credentials', () =>
      assume(ctx, authorized, {
        executionId,
        principalId: principal.id,
        callerArn: req.caller.arn,
        sessionId,
      }),
    );
    const env = await failingAs('secrets', () => readSecrets(ctx, assumed, authorized));
    const key = await failingAs('sessions', () =>
      deps.vault.newKey({ sessionId, principalId: principal.id }),
    );
    let sealedSecrets: SessionRecord['sealedSecrets'];
    try {
      sealedSecrets = sealBox(key.plaintext, Buffer.from(JSON.stringify(env), 'utf8'), sessionId, 'secrets');
    } finally {
      key.plaintext.fill(0);
    }
    record = {
      sessionId,
      principalId: principal.id,
      callerArn: req.caller.arn,
      profile: authorized.profileName,
      ...(request.purpose !== undefined ? { purpose: request.purpose } : {}),
      createdAt: now.toISOString(),
      expiresAt,
      status: 'active',
      executions: 0,
      stateBytes: 0,
      secretVariables,
      wrappedKey: key.wrapped,
      sealedSecrets,
    };
    await failingAs('sessions', () => deps.store.create(record));
  } catch (error) {
    const failure = asDependencyError(error, 'sessions');
    ctx.metrics.count(Metric.DependencyFailures, 1, {
      Dependency: 'dependency' in failure ? String(failure.dependency) : 'sessions',
    });
    const refused = await refuse(ctx, {
      executionId,
      caller,
      request: audited,
      error: failure,
      timingsMs,
      session,
    });
    return failed({ executionId, error: failure, auditPending: refusedPending(refused) });
  }

  // The session exists only once its `session_started` record is stored; else it is shredded unused.
  try {
    const { logged } = await ctx.trail.start({
      ...baseRecord(ctx, executionId, 'session_started', caller, audited, ALLOWED),
      secretVariables,
      session,
    });
    await logged;
  } catch (error) {
    await deps.store.end(sessionId, 'deleted', ctx.clock()).catch(() => undefined);
    const failure = asDependencyError(error, 'audit');
    const refused = await refuse(
      ctx,
      { executionId, caller, request: audited, error: failure, timingsMs, session },
      'log only',
    );
    return failed({ executionId, error: failure, auditPending: refusedPending(refused) });
  }
  ctx.metrics.count(Metric.SessionsStarted, 1);
  return { started: true, body: { sessionId, profile: authorized.profileName, expiresAt, secretVariables } };
}

/** Runs one step; what it throws is named after its dependency (fail closed, 503). */
async function failingAs<T>(dependency: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw asDependencyError(error, dependency);
  }
}

function refusedPending(outcome: { readonly ran: boolean; readonly auditPending?: boolean }): boolean {
  return outcome.auditPending === true;
}
