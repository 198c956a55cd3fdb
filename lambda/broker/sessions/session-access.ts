/**
 * How a session is found and judged on every access: the session routes, the kill switch and the
 * sweep share these. Only the principal that started a session may use or end it; to anyone else
 * it does not exist (the same 404 as an unknown id). A session past its `expiresAt` is over on
 * every access, whether or not the sweep has ended it yet.
 */
import type { SessionSummary } from '../../core/api-schema.ts';
import { CustodyError, DependencyError, NotFoundError } from '../../core/errors.ts';
import { SESSION_ID, type SessionRecord, type SessionStatus } from '../../core/session.ts';
import type { BrokerContext, SessionDeps } from '../context.ts';

/** 410: the session ended (deleted, expired, revoked): nothing more runs in it. */
export function sessionEndedError(sessionId: string, why: string): CustodyError {
  return new CustodyError('SESSION_ENDED', `Session ${sessionId} ${why}; start a new session.`, 410);
}

/** 409: a call of the session is running; calls of one session run one at a time. */
export function sessionBusyError(sessionId: string): CustodyError {
  return new CustodyError(
    'SESSION_BUSY',
    `Session ${sessionId} is running another call; calls of one session run one at a time: retry when it has answered.`,
    409,
  );
}

export function sessionNotFound(sessionId: string): NotFoundError {
  if (!SESSION_ID.test(sessionId))
    return new NotFoundError('No such session: a session id is ses_ and a ULID.');
  return new NotFoundError(`No session ${sessionId} visible to the caller.`);
}

/** The session ports, or a 503 where the deployment has none. */
export function sessionDeps(ctx: BrokerContext): SessionDeps {
  if (!ctx.sessions) throw new DependencyError('sessions', 'Sessions are not configured on this deployment.');
  return ctx.sessions;
}

/** The stored record; undefined for an id that is not a session id or not stored. Throws 503 if unreadable. */
export async function readSession(deps: SessionDeps, sessionId: string): Promise<SessionRecord | undefined> {
  if (!SESSION_ID.test(sessionId)) return undefined;
  try {
    return await deps.store.get(sessionId);
  } catch (error) {
    throw new DependencyError('sessions', 'The session store is unavailable.', { cause: error });
  }
}

/** active, ended, or expired (an ended session that ended by expiry reads `expired` too). */
function statusOf(record: SessionRecord, now: Date): SessionStatus {
  if (record.status === 'ended') return record.endReason === 'expired' ? 'expired' : 'ended';
  return now.getTime() >= Date.parse(record.expiresAt) ? 'expired' : 'active';
}

/** Whether an active record is past its end (the caller then ends it as expired). */
export function isExpired(record: SessionRecord, now: Date): boolean {
  return record.status === 'active' && now.getTime() >= Date.parse(record.expiresAt);
}

/** The record as `GET /v1/sessions/{id}` shows it: never the key, the secrets or who holds it. */
export function summaryOf(record: SessionRecord, now: Date): SessionSummary {
  return {
    sessionId: record.sessionId,
    profile: record.profile,
    status: statusOf(record, now),
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    executions: record.executions,
    stateBytes: record.stateBytes,
    ...(record.endedAt ? { endedAt: record.endedAt } : {}),
    ...(record.endReason ? { endReason: record.endReason } : {}),
  };
}
