/**
 * The end of a session, whatever ends it (`DELETE`, expiry, the kill switch): the record's wrapped
 * data key and sealed secrets are removed in the same conditional write that ends it (crypto-
 * shredding: what was sealed under that key can never be opened again), the sealed state is
 * deleted, and a `session_ended` record says why, after how many calls and how long.
 *
 * `sweepSessions` ends the sessions that are over without anyone calling them: past their end, or
 * whose principal or profile the kill switch revoked. Every access does the same on its own.
 */
import type { AuditCaller } from '../../core/audit-record.ts';
import { Metric } from '../../core/metrics.ts';
import type { SessionEndReason, SessionRecord } from '../../core/session.ts';
import { ALLOWED, baseRecord } from '../audit-records.ts';
import type { BrokerContext, SessionDeps } from '../context.ts';
import { readRevocations } from '../revocation-check.ts';
import { isExpired } from './session-access.ts';

/** The caller of an end nobody asked for (expiry or revocation found by the sweep). */
const SWEEP_CALLER: AuditCaller = { arn: 'custody:session-sweep' };

/**
 * Ends an active session. Returns the record as it was, or undefined if it had already ended (by
 * another request, or the sweep): then nothing more is done or recorded here.
 */
export async function endSession(
  ctx: BrokerContext,
  deps: SessionDeps,
  record: SessionRecord,
  reason: SessionEndReason,
  caller: AuditCaller = SWEEP_CALLER,
): Promise<SessionRecord | undefined> {
  const at = ctx.clock();
  const was = await deps.store.end(record.sessionId, reason, at);
  if (!was) return undefined;
  try {
    await deps.state.delete(record.sessionId);
  } catch {
    // The state stays sealed under a key that no longer exists; the store's lifecycle rule removes it.
    ctx.metrics.count(Metric.DependencyFailures, 1, { Dependency: 'sessions' });
  }
  const durationSeconds = Math.max(0, Math.round((at.getTime() - Date.parse(was.createdAt)) / 1000));
  await ctx.trail.finish({
    ...baseRecord(
      ctx,
      ctx.newExecutionId(),
      'session_ended',
      caller,
      { profile: was.profile, ...(was.purpose !== undefined ? { purpose: was.purpose } : {}) },
      ALLOWED,
    ),
    session: {
      sessionId: was.sessionId,
      endReason: reason,
      executions: was.executions,
      durationSeconds,
      stateBytes: was.stateBytes,
    },
  });
  ctx.metrics.count(Metric.SessionsEnded, 1);
  ctx.metrics.count(Metric.SessionsEnded, 1, { Reason: reason });
  ctx.metrics.count(Metric.SessionSeconds, durationSeconds);
  return was;
}

/** Why an active session must end now, if it must: past its end, or its principal or profile revoked. */
async function overReason(ctx: BrokerContext, record: SessionRecord): Promise<SessionEndReason | undefined> {
  if (isExpired(record, ctx.clock())) return 'expired';
  const read = await readRevocations(ctx, record.principalId, [record.profile]);
  if (read.principal?.revoked || read.profiles[0]?.revoked) return 'revoked';
  return undefined;
}

/**
 * Ends every active session that is over (expired, or revoked by the kill switch). One session
 * that fails does not stop the others; it is counted and tried again on the next sweep.
 */
export async function sweepSessions(ctx: BrokerContext, deps: SessionDeps): Promise<{ ended: number }> {
  let ended = 0;
  for (const record of await deps.store.listActive()) {
    try {
      const reason = await overReason(ctx, record);
      if (reason && (await endSession(ctx, deps, record, reason))) ended++;
    } catch {
      ctx.metrics.count(Metric.DependencyFailures, 1, { Dependency: 'sessions' });
    }
  }
  return { ended };
}
