/**
 * `GET /v1/sessions`, `GET /v1/sessions/{id}` and `DELETE /v1/sessions/{id}`.
 *
 * A session is its starter's: anyone else gets the 404 of an unknown id. An auditor may read any
 * session's summary (it holds no secret and no state: ids, counts, instants), never use or end it.
 * Expiry is enforced here too: an expired session read or deleted is ended (as expired) first.
 * A refused `DELETE` is audited (`denied`, with the session); reads are not, as for executions.
 */
import type { SessionEndResponse, SessionSummary } from '../../core/api-schema.ts';
import type { CustodyError } from '../../core/errors.ts';
import { DeniedError } from '../../core/errors.ts';
import { SESSION_ID } from '../../core/session.ts';
import type { CallerIdentity } from '../caller.ts';
import type { BrokerContext } from '../context.ts';
import { identify } from '../identity.ts';
import { refuse } from '../refusal.ts';
import { identifyCaller } from '../steps/identify.ts';
import {
  isExpired,
  readSession,
  sessionDeps,
  sessionEndedError,
  sessionNotFound,
  summaryOf,
} from './session-access.ts';
import { endSession } from './session-end.ts';

/** The caller's sessions, newest first. */
export async function listSessions(ctx: BrokerContext, caller: CallerIdentity): Promise<SessionSummary[]> {
  const deps = sessionDeps(ctx);
  const identity = identify(ctx.policy, caller);
  if (!identity.matched) throw new DeniedError(identity.reason, identity.message);
  const now = ctx.clock();
  return (await deps.store.listByPrincipal(identity.principal.id)).map((r) => summaryOf(r, now));
}

/** One session, to its starter or an auditor. */
export async function showSession(
  ctx: BrokerContext,
  caller: CallerIdentity,
  sessionId: string,
): Promise<SessionSummary> {
  const deps = sessionDeps(ctx);
  const identity = identify(ctx.policy, caller);
  if (!identity.matched) throw sessionNotFound(sessionId);
  const { principal } = identity;
  let record = await readSession(deps, sessionId);
  if (!record || !(record.principalId === principal.id || principal.auditor))
    throw sessionNotFound(sessionId);
  if (isExpired(record, ctx.clock())) {
    await endSession(ctx, deps, record, 'expired');
    record = (await readSession(deps, sessionId)) ?? record;
  }
  return summaryOf(record, ctx.clock());
}

/** Ends the caller's session: its key and sealed secrets are shredded, its state deleted. */
export async function deleteSession(
  ctx: BrokerContext,
  caller: CallerIdentity,
  sessionId: string,
): Promise<SessionEndResponse> {
  const deps = sessionDeps(ctx);
  const identified = identifyCaller(ctx.policy, caller);
  const refused = async (error: CustodyError): Promise<never> => {
    const executionId = ctx.newExecutionId();
    await refuse(ctx, {
      executionId,
      caller: identified.caller,
      request: undefined,
      error,
      timingsMs: {},
      ...(SESSION_ID.test(sessionId) ? { session: { sessionId } } : {}),
    });
    throw error;
  };
  if (!identified.ok) return refused(identified.error);
  const record = await readSession(deps, sessionId);
  if (!record || record.principalId !== identified.principal.id) return refused(sessionNotFound(sessionId));
  if (record.status === 'ended') return refused(sessionEndedError(sessionId, `ended (${record.endReason})`));
  if (isExpired(record, ctx.clock())) {
    await endSession(ctx, deps, record, 'expired', identified.caller);
    return refused(sessionEndedError(sessionId, `expired at ${record.expiresAt}`));
  }
  const ended = await endSession(ctx, deps, record, 'deleted', identified.caller);
  if (!ended) return refused(sessionEndedError(sessionId, 'has ended'));
  return { sessionId, status: 'ended' };
}
