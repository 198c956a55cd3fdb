/**
 * POST /v1/executions: the ten steps of DESIGN.md "One call, end to end", in order, each a function
 * of its own (`steps/`). Every refusal before the run leaves one `denied` record (`refusal.ts`);
 * every failure after the `started` record leaves a `completed` record of status error.
 *
 *  1 identify  2 validate  3 decide  4 audit started + 5 assume (at once)  6 secrets  7 execute
 *  8 seal  9 audit completed  10 respond
 *
 * A call of a session (`sessions/run-in-session.ts`) runs steps 4 to 10 here too (`runAllowed`),
 * with `RunHooks`: its own role session tagged with the session id, the secrets sealed at session
 * start instead of a read of Secrets Manager, and the session's state in and out of the sandbox.
 */

import type { AuditCaller, AuditSession } from '../core/audit-record.ts';
import { sha256Hex } from '../core/canonical-json.ts';
import { CustodyError } from '../core/errors.ts';
import { Metric } from '../core/metrics.ts';
import type { Principal } from '../core/policy.ts';
import type { AssumedSession } from '../core/ports.ts';
import type { SandboxRequest, SandboxResult } from '../core/types.ts';
import { type AllowedRun, auditRequest, sessionOf } from './audit-records.ts';
import type { CallerIdentity } from './caller.ts';
import type { BrokerContext } from './context.ts';
import { decide } from './decision.ts';
import { asDependencyError, type ExecutionOutcome, refuse } from './refusal.ts';
import type { ExecutionRequest } from './request.ts';
import { Redactor } from './seal.ts';
import { storeArtifacts } from './steps/artifacts.ts';
import { assume } from './steps/assume.ts';
import { auditCompleted, auditFailed, type Started } from './steps/audit-completed.ts';
import { auditStarted } from './steps/audit-started.ts';
import { checkDatasets, type DatasetsRead, readDatasets } from './steps/datasets.ts';
import { type Authorized, authorize } from './steps/decide.ts';
import { execute } from './steps/execute.ts';
import { identifyCaller } from './steps/identify.ts';
import { respond } from './steps/respond.ts';
import { sealOutput, secretsOf } from './steps/seal-output.ts';
import { readSecrets } from './steps/secrets.ts';
import { validate } from './steps/validate.ts';
import { PhaseTimings } from './timings.ts';

export async function runExecution(
  ctx: BrokerContext,
  req: { readonly body: string | null; readonly caller: CallerIdentity },
): Promise<ExecutionOutcome> {
  const timings = new PhaseTimings();
  const executionId = ctx.newExecutionId();
  const timingsMs = timings.phases;

  // 1. identify
  const identified = identifyCaller(ctx.policy, req.caller);
  const { caller } = identified;
  if (!identified.ok) {
    return refuse(ctx, { executionId, caller, request: undefined, error: identified.error, timingsMs });
  }
  const { principal } = identified;

  // 2. validate
  const request = validate(req.body);
  if (request instanceof CustodyError) {
    return refuse(ctx, { executionId, caller, request: undefined, error: request, timingsMs });
  }
  timings.lap('validate');

  // 3. decide
  const authorized = await authorize(ctx, principal, request, timings, (now) =>
    decide({ policy: ctx.policy, principal, request, now }),
  );
  if (authorized instanceof CustodyError) {
    return refuse(ctx, { executionId, caller, request, error: authorized, timingsMs });
  }
  return runAllowed(ctx, {
    executionId,
    caller,
    callerArn: req.caller.arn,
    principal,
    request,
    authorized,
    timings,
  });
}

/** An allowed request, as steps 1 to 3 (of an execution or of a session's call) left it. */
export interface AllowedRequest {
  readonly executionId: string;
  readonly caller: AuditCaller;
  /** The ARN the edge authenticated (the role session's caller tag). */
  readonly callerArn: string;
  readonly principal: Principal;
  readonly request: ExecutionRequest;
  readonly authorized: Authorized;
  readonly timings: PhaseTimings;
  /** A call of a session: on each of its audit records. */
  readonly session?: AuditSession;
}

/** What a call of a session changes in steps 5 to 10 (none: a plain execution). */
export interface RunHooks {
  /** Step 5: tags the role session with this custody session id (and allows its state prefix). */
  readonly sessionId?: string;
  /** Step 6: the secrets, instead of a read of Secrets Manager with the role session. */
  readonly secrets?: (session: AssumedSession) => Promise<Record<string, string>>;
  /** Before step 7: what the sandbox is given of the session (its state). */
  readonly sandboxSession?: (session: AssumedSession) => Promise<SandboxRequest['session']>;
  /**
   * After step 8: keeps what the run left for the next call; returns the answer's extra fields
   * and the `session` of the `completed` record. Must not throw (a failure is said in the answer).
   */
  readonly afterRun?: (
    session: AssumedSession,
    result: SandboxResult,
    /** Redacts what step 8 redacts (secret values, the session's keys, credential patterns). */
    redact: (text: string) => string,
  ) => Promise<{ readonly body: Record<string, unknown>; readonly session?: AuditSession }>;
}

/** Steps 4 to 10 of an allowed request. */
export async function runAllowed(
  ctx: BrokerContext,
  run: AllowedRequest,
  hooks: RunHooks = {},
): Promise<ExecutionOutcome> {
  const { executionId, caller, principal, request, authorized, timings } = run;
  const { profile, limits } = authorized;
  // #16: a dataset the profile does not declare is refused before anything is recorded as started.
  const datasetRefusal = checkDatasets(authorized.profileName, profile, request.datasets);
  if (datasetRefusal) {
    return refuse(ctx, {
      executionId,
      caller,
      request,
      error: datasetRefusal,
      timingsMs: timings.phases,
      ...sessionOf(run),
    });
  }
  const allowed: AllowedRun = {
    executionId,
    caller,
    request: { ...auditRequest(request, profile.auditCode === 'full'), timeoutMs: limits.timeoutMs },
    secretVariables: profile.secrets.map((s) => s.variable),
    ...(run.session ? { session: run.session } : {}),
  };

  // 4 and 5, at once: AssumeRole runs nothing, so it overlaps the started write; nothing below runs
  // until BOTH are done, and if the started record was not stored the session is dropped unused (503).
  const overlapFrom = timings.mark();
  const startWrite = auditStarted(ctx, allowed).then((started) => {
    timings.since('auditStart', overlapFrom);
    return started;
  });
  const assumed = (async () => {
    const out = await assume(ctx, authorized, {
      executionId,
      principalId: principal.id,
      callerArn: run.callerArn,
      ...(hooks.sessionId !== undefined ? { sessionId: hooks.sessionId } : {}),
    });
    timings.since('assume', overlapFrom);
    return out;
  })();
  const [startOutcome, assumeOutcome] = await Promise.allSettled([startWrite, assumed]);
  timings.markNow();
  if (startOutcome.status === 'rejected') {
    // Nothing runs; the refusal still goes to the audit log (pending: reconcile copies it to the table).
    const error = asDependencyError(startOutcome.reason, 'audit');
    const timingsMs = timings.phases;
    const refusal = { executionId, caller, request, error, timingsMs, ...sessionOf(run) };
    return refuse(ctx, refusal, 'log only');
  }
  // The started line goes to the audit log while the code runs; every answer below waits for it.
  let started: Started = { ...allowed, timings, logged: startOutcome.value.logged };
  if (assumeOutcome.status === 'rejected') {
    return auditFailed(ctx, started, undefined, assumeOutcome.reason, 'credentials');
  }
  const session: AssumedSession = assumeOutcome.value;

  // 6. secrets, read WITH the session (a session's call: opened from the session's record)
  let env: Record<string, string>;
  let sandboxSession: SandboxRequest['session'];
  try {
    env = hooks.secrets ? await hooks.secrets(session) : await readSecrets(ctx, session, authorized);
  } catch (error) {
    return auditFailed(ctx, started, session, error, 'secrets');
  }
  try {
    sandboxSession = hooks.sandboxSession ? await hooks.sandboxSession(session) : undefined;
  } catch (error) {
    return auditFailed(ctx, started, session, error, 'sessions');
  }
  timings.lap('secrets');
  ctx.metrics.count(Metric.SecretsInjected, Object.keys(env).length);

  // #16 datasets, read WITH the session: IAM's refusals (403), a missing key (404) or too many bytes
  // (413) close the run with a `denied` record; anything else with a `completed` record of error.
  let data: DatasetsRead | undefined;
  try {
    data = await readDatasets(ctx.datasets, session, profile, request.datasets, authorized.context);
  } catch (error) {
    if (error instanceof CustodyError && error.httpStatus < 500) {
      await started.logged;
      return refuse(ctx, {
        executionId,
        caller,
        request,
        error,
        timingsMs: timings.phases,
        ...sessionOf(run),
      });
    }
    return auditFailed(ctx, started, session, error, 'datasets');
  }
  timings.lap('datasets');

  // 7. execute WITH the session
  let result: SandboxResult;
  try {
    const datasets = data?.files;
    result = await execute(ctx, session, authorized, {
      executionId,
      request,
      env,
      ...(sandboxSession ? { session: sandboxSession } : {}),
      ...(datasets ? { datasets } : {}),
    });
  } catch (error) {
    return auditFailed(ctx, started, session, error, 'executor');
  }
  timings.lap('execute');

  // 8. seal
  const sealed = sealOutput(result, env, session);
  timings.lap('seal');
  const redactor = new Redactor(secretsOf(env, session));
  const kept = hooks.afterRun
    ? await hooks.afterRun(session, result, (text) => redactor.redact(text).text)
    : undefined;
  if (kept?.session) started = { ...started, session: kept.session };

  // #16 artifacts, written WITH the session under the profile's outputs prefix (PutObject only)
  let artifacts: Awaited<ReturnType<typeof storeArtifacts>>;
  try {
    const context = authorized.context;
    artifacts = await storeArtifacts(
      ctx.artifacts,
      session,
      profile,
      { executionId, files: sealed.output.files },
      context,
    );
  } catch (error) {
    return auditFailed(ctx, started, session, error, 'artifacts');
  }

  // 9. audit "completed"
  const { pending } = await auditCompleted(ctx, started, session, sealed, {
    ...(data ? { datasets: data.records } : {}),
    ...(artifacts ? { artifacts } : {}),
  });

  // 10. respond
  const codeSha256 = allowed.request.codeSha256 ?? sha256Hex(request.code);
  const body = respond({
    executionId,
    result,
    sealed,
    codeSha256,
    session,
    pending,
    ...(artifacts ? { artifacts } : {}),
  });
  return { ran: true, executionId, body: kept ? { ...body, ...kept.body } : body };
}
