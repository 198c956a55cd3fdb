/**
 * `POST /v1/sessions/{sessionId}/executions`: one call of a session, a whole execution of its own.
 *
 * Before the ten steps: the session must be the caller's (else 404), not over (else 410; an
 * expired one is ended here), and free (else 409 SESSION_BUSY: calls of one session never run at
 * once, and a call is never queued behind another). The call is decided again like any execution
 * (grant, JIT window, kill switch, approved code); a revoked principal or profile ends the session.
 *
 * Then steps 4 to 10 (`runAllowed`) with the session's hooks: the role session carries the session
 * tag; the secrets are those sealed at session start (Secrets Manager is not read again); the
 * state is read and written WITH the call's role session and sealed under the session's key. State
 * over the profile's `maxStateBytes` is not kept: the call's answer stands and says so
 * (`state.saved: false`, `state.error.code: STATE_TOO_LARGE`); the next call starts from the state
 * the previous call left.
 */

import { type SessionExecutionRequest, sessionExecutionRequestSchema } from '../../core/api-schema.ts';
import type { AuditSession } from '../../core/audit-record.ts';
import { CustodyError, DependencyError } from '../../core/errors.ts';
import { Metric } from '../../core/metrics.ts';
import type { AssumedSession } from '../../core/ports.ts';
import { type SandboxState, SESSION_ID, type SessionRecord } from '../../core/session.ts';
import type { SandboxResult } from '../../core/types.ts';
import type { CallerIdentity } from '../caller.ts';
import type { BrokerContext, SessionDeps } from '../context.ts';
import { decide } from '../decision.ts';
import { runAllowed } from '../pipeline.ts';
import { type ExecutionOutcome, refuse } from '../refusal.ts';
import { type ExecutionRequest, parseBody } from '../request.ts';
import { authorize } from '../steps/decide.ts';
import { identifyCaller } from '../steps/identify.ts';
import { PhaseTimings } from '../timings.ts';
import { boxBytes, boxFromBytes, openBox, sealBox } from './seal-box.ts';
import {
  isExpired,
  readSession,
  sessionBusyError,
  sessionDeps,
  sessionEndedError,
  sessionNotFound,
} from './session-access.ts';
import { endSession } from './session-end.ts';

/** A call holding a session longer than its timeout plus this is presumed dead (its lock is stale). */
const STALE_MARGIN_MS = 60_000;

/** At most this many dropped names, of at most this many characters, in an answer. */
const MAX_DROPPED_NAMES = 100;
const MAX_DROPPED_NAME_CHARS = 200;

const REVOCATION_CODES = new Set(['PRINCIPAL_SUSPENDED', 'PROFILE_REVOKED']);

export async function runInSession(
  ctx: BrokerContext,
  req: { readonly body: string | null; readonly caller: CallerIdentity },
  sessionId: string,
): Promise<ExecutionOutcome> {
  const deps = sessionDeps(ctx);
  const timings = new PhaseTimings();
  const executionId = ctx.newExecutionId();
  const timingsMs = timings.phases;
  const identified = identifyCaller(ctx.policy, req.caller);
  const { caller } = identified;
  // Only a well-formed id goes into the record: the path is the caller's text.
  let session: AuditSession | undefined = SESSION_ID.test(sessionId) ? { sessionId } : undefined;
  let parsed: Partial<ExecutionRequest> | undefined;
  const refused = (error: CustodyError) =>
    refuse(ctx, { executionId, caller, request: parsed, error, timingsMs, ...(session ? { session } : {}) });

  if (!identified.ok) return refused(identified.error);
  const { principal } = identified;
  let body: SessionExecutionRequest;
  try {
    body = parseBody(sessionExecutionRequestSchema, req.body);
  } catch (error) {
    if (!(error instanceof CustodyError)) throw error;
    return refused(error);
  }
  timings.lap('validate');

  let record: SessionRecord | undefined;
  try {
    record = await readSession(deps, sessionId);
  } catch (error) {
    if (!(error instanceof CustodyError)) throw error;
    return refused(error);
  }
  if (!record || record.principalId !== principal.id) return refused(sessionNotFound(sessionId));
  const request: ExecutionRequest = { ...body, profile: record.profile };
  parsed = request;
  if (record.status === 'ended') return refused(sessionEndedError(sessionId, `ended (${record.endReason})`));
  if (isExpired(record, ctx.clock())) {
    await endSession(ctx, deps, record, 'expired', caller);
    return refused(sessionEndedError(sessionId, `expired at ${record.expiresAt}`));
  }

  const authorized = await authorize(ctx, principal, request, timings, (now) =>
    decide({ policy: ctx.policy, principal, request, now }),
  );
  if (authorized instanceof CustodyError) {
    if (REVOCATION_CODES.has(authorized.code)) await endSession(ctx, deps, record, 'revoked', caller);
    return refused(authorized);
  }

  const staleAfterMs = authorized.limits.timeoutMs + STALE_MARGIN_MS;
  let taken: Awaited<ReturnType<SessionDeps['store']['begin']>>;
  try {
    taken = await deps.store.begin(sessionId, executionId, ctx.clock(), staleAfterMs);
  } catch (error) {
    return refused(new DependencyError('sessions', 'The session store is unavailable.', { cause: error }));
  }
  if (!taken.ok) {
    if (taken.reason === 'busy') return refused(sessionBusyError(sessionId));
    if (taken.reason === 'ended') return refused(sessionEndedError(sessionId, 'has ended'));
    return refused(sessionNotFound(sessionId));
  }
  session = { sessionId, sequence: taken.sequence };

  const carried = new SessionCall(ctx, deps, record, authorized.profile.maxStateBytes);
  try {
    const outcome = await runAllowed(
      ctx,
      { executionId, caller, callerArn: req.caller.arn, principal, request, authorized, timings, session },
      {
        sessionId,
        secrets: () => carried.secrets(),
        sandboxSession: (assumed) => carried.readState(assumed),
        afterRun: async (assumed, result, redact) => {
          const state = await carried.keepState(assumed, result, redact);
          return {
            body: { sessionId, sequence: taken.sequence, state },
            session: { sessionId, sequence: taken.sequence, stateBytes: carried.stateBytes },
          };
        },
      },
    );
    return outcome;
  } finally {
    carried.forget();
    const stillOurs = await deps.store
      .finish(sessionId, executionId, { stateBytes: carried.stateBytes })
      .catch(() => true);
    // Ended while this call ran: the state it may just have written goes too.
    if (!stillOurs) await deps.state.delete(sessionId).catch(() => undefined);
  }
}

/** What the session's answer says of its state. */
interface StateAnswer {
  readonly bytes: number;
  readonly dropped: readonly string[];
  readonly saved: boolean;
  readonly error?: { readonly code: string; readonly message: string };
}

/** The session's key and state for one call: unwrapped once, zeroed when the call is over. */
class SessionCall {
  private key: Uint8Array | undefined;
  /** The sealed state's size after this call (the previous call's if this one kept none). */
  stateBytes: number;

  constructor(
    private readonly ctx: BrokerContext,
    private readonly deps: SessionDeps,
    private readonly record: SessionRecord,
    private readonly maxStateBytes: number,
  ) {
    this.stateBytes = record.stateBytes;
  }

  private async dataKey(): Promise<Uint8Array> {
    const { wrappedKey, sessionId, principalId } = this.record;
    if (!wrappedKey) throw sessionEndedError(sessionId, 'has ended');
    try {
      this.key ??= await this.deps.vault.unwrap(wrappedKey, { sessionId, principalId });
    } catch (error) {
      throw new DependencyError('sessions', "The session's key did not unwrap; nothing was run.", {
        cause: error,
      });
    }
    return this.key;
  }

  /** The secrets sealed at session start (the session's copy: a later rotation does not reach it). */
  async secrets(): Promise<Record<string, string>> {
    const { sealedSecrets, sessionId } = this.record;
    if (!sealedSecrets) throw sessionEndedError(sessionId, 'has ended');
    const plain = openBox(await this.dataKey(), sealedSecrets, sessionId, 'secrets');
    return JSON.parse(plain.toString('utf8')) as Record<string, string>;
  }

  /** The state the previous call left (none on the first call), read WITH the call's role session. */
  async readState(assumed: AssumedSession): Promise<{ state?: SandboxState }> {
    const { sessionId } = this.record;
    // Nothing saved yet: nothing to read. On AWS the role may not list the bucket, so S3 would
    // answer a read of the missing object with 403, not 404.
    if (this.record.stateBytes === 0) return {};
    const stored = await this.deps.state.read(assumed, sessionId);
    if (stored === undefined) return {};
    const plain = openBox(await this.dataKey(), boxFromBytes(stored), sessionId, 'state');
    return { state: JSON.parse(plain.toString('utf8')) as SandboxState };
  }

  /** Seals and writes what the run carries to the next call; says in the answer if it was not kept. */
  async keepState(
    assumed: AssumedSession,
    result: SandboxResult,
    redact: (text: string) => string,
  ): Promise<StateAnswer> {
    // Names the code chose: redacted like its output (a name can carry a secret), and bounded.
    const dropped = (result.state?.dropped ?? [])
      .slice(0, MAX_DROPPED_NAMES)
      .map((name) => redact(name.slice(0, 4096)).slice(0, MAX_DROPPED_NAME_CHARS));
    const notSaved = (code: string, message: string): StateAnswer => ({
      bytes: this.stateBytes,
      dropped,
      saved: false,
      error: { code, message: `${message} The next call starts from the state the previous call left.` },
    });
    if (!result.state) {
      return notSaved('STATE_NOT_RETURNED', `The sandbox returned no state (status ${result.status}).`);
    }
    const { sessionId } = this.record;
    let bytes: Uint8Array;
    try {
      const plain = Buffer.from(JSON.stringify(result.state.carried), 'utf8');
      bytes = boxBytes(sealBox(await this.dataKey(), plain, sessionId, 'state'));
    } catch {
      return notSaved('STATE_NOT_SAVED', 'The state could not be sealed.');
    }
    if (bytes.byteLength > this.maxStateBytes) {
      return notSaved(
        'STATE_TOO_LARGE',
        `The state is ${bytes.byteLength} bytes sealed, over the profile's maxStateBytes of ${this.maxStateBytes}: it was not saved.`,
      );
    }
    try {
      await this.deps.state.write(assumed, sessionId, bytes);
    } catch {
      this.ctx.metrics.count(Metric.DependencyFailures, 1, { Dependency: 'sessions' });
      return notSaved('STATE_NOT_SAVED', 'The state store did not take the state.');
    }
    this.stateBytes = bytes.byteLength;
    return { bytes: this.stateBytes, dropped, saved: true };
  }

  forget(): void {
    this.key?.fill(0);
    this.key = undefined;
  }
}
