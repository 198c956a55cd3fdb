/**
 * Sessions (`POST /v1/sessions`): state across the calls of one principal, secrets read once at
 * session start and destroyed at its end. This file is the contract every part builds on: the
 * session's record, the ports that keep it (metadata, state, keys) and the sandbox's state shape.
 *
 * Each call of a session is still a whole execution: decided again, its own STS role session (tagged
 * with the session id), a fresh sandbox given the session's state, its own audit records.
 *
 * Where each piece lives:
 * - `SessionStore`     the session's record: DynamoDB table (dynalite locally)
 * - `SessionStateStore` the sealed state between calls: S3 under `sessions/<sessionId>/`, read and
 *                       written WITH the call's assumed role session; files under `.custody/` locally
 * - `SessionKeyVault`  one data key per session: KMS GenerateDataKey with an encryption context
 *                       naming the session and the principal; a local key file in local mode
 * The secrets and the state are sealed (AES-256-GCM) under the session's data key; ending a session
 * deletes the wrapped key with the record's sealed secrets (crypto-shredding) and the state object.
 */
import type { SessionEndReason } from './audit-record.ts';
import type { AssumedSession } from './ports.ts';

/** Session tag on each call's role session; the execution role's state prefix is conditioned on it. */
export const TAG_SESSION_ID = 'custody:session-id';

/**
 * The event the stack's schedule sends the broker Lambda (`lib/sessions.ts`): end the sessions past
 * their end or revoked (DynamoDB TTL and the S3 lifecycle rule are only backstops).
 */
export const SWEEP_SESSIONS_EVENT = { custodyTask: 'sweep-sessions' } as const;

/** `ses_` then a ULID: valid in S3 keys, DynamoDB keys and STS tag values. */
export const SESSION_ID = /^ses_[0-9A-HJKMNP-TV-Z]{26}$/;

/** Default and ceiling of a profile's `maxSessionSeconds`. */
export const DEFAULT_MAX_SESSION_SECONDS = 3600;
export const MAX_SESSION_SECONDS_LIMIT = 8 * 3600;
/** Default of a profile's `maxStateBytes` (the sealed state must also fit the executor payload). */
export const DEFAULT_MAX_STATE_BYTES = 2 * 1024 * 1024;

const SESSION_STATUSES = ['active', 'ended', 'expired'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export type { SessionEndReason } from './audit-record.ts';
export type { SandboxState } from './sandbox-state.ts';

/** A session's data key, as the vault hands it out: the plaintext (memory only) and its wrapped form. */
export interface SessionDataKey {
  readonly plaintext: Uint8Array;
  /** The key wrapped by KMS (or the local key); stored in the session record, base64. */
  readonly wrapped: string;
}

/** What the data key is bound to: KMS's encryption context, the local key's AAD. */
export interface SessionKeyContext {
  readonly sessionId: string;
  readonly principalId: string;
}

/** KMS in AWS (GenerateDataKey / Decrypt with the context), a local key in local mode. */
export interface SessionKeyVault {
  newKey(context: SessionKeyContext): Promise<SessionDataKey>;
  /** Throws if the wrapped key was not made for this context. */
  unwrap(wrapped: string, context: SessionKeyContext): Promise<Uint8Array>;
}

/** Bytes sealed under a session's data key (AES-256-GCM), base64 fields. */
export interface SealedBox {
  readonly iv: string;
  readonly ciphertext: string;
  readonly tag: string;
}

/** A session's record in the session table. */
export interface SessionRecord {
  readonly sessionId: string;
  readonly principalId: string;
  /** The ARN that started it (as the edge saw it). */
  readonly callerArn: string;
  readonly profile: string;
  readonly purpose?: string;
  /** ISO instants. */
  readonly createdAt: string;
  readonly expiresAt: string;
  /** Stored status: active or ended (expired is derived from `expiresAt` until the sweep ends it). */
  readonly status: 'active' | 'ended';
  readonly endedAt?: string;
  readonly endReason?: SessionEndReason;
  /** Calls run so far (the last call's `sequence`). */
  readonly executions: number;
  /** Bytes of the sealed state after the last call. */
  readonly stateBytes: number;
  /** Names (never values) of the secret variables sealed at start. */
  readonly secretVariables: readonly string[];
  /** The data key, wrapped; removed at the end (crypto-shredding). */
  readonly wrappedKey?: string;
  /** The secrets read at session start, sealed under the data key; removed at the end. */
  readonly sealedSecrets?: SealedBox;
  /** The call holding the session now (a second call at once is refused with 409). */
  readonly busyWith?: { readonly executionId: string; readonly since: string };
}

/** The session table: DynamoDB (dynalite locally). Every transition is a conditional write. */
export interface SessionStore {
  /** Writes a new record; throws if the id exists. */
  create(record: SessionRecord): Promise<void>;
  get(sessionId: string): Promise<SessionRecord | undefined>;
  /** The principal's sessions, newest first. */
  listByPrincipal(principalId: string): Promise<SessionRecord[]>;
  /** Active sessions (for the sweep and the kill switch). */
  listActive(): Promise<SessionRecord[]>;
  /**
   * Takes the session for one call: `status` active, not past `expiresAt` at `now`, not busy (or
   * busy for longer than `staleAfterMs`). Counts the call now (`executions` + 1), so each call has
   * its own sequence number, and returns it, or why not.
   */
  begin(
    sessionId: string,
    executionId: string,
    now: Date,
    staleAfterMs: number,
  ): Promise<{ ok: true; sequence: number } | { ok: false; reason: 'busy' | 'ended' | 'missing' }>;
  /**
   * Releases the session after a call, with the new state size. Returns false if the session was
   * no longer this call's (ended, or taken over as stale) meanwhile: nothing is then written.
   */
  finish(sessionId: string, executionId: string, update: { stateBytes: number }): Promise<boolean>;
  /**
   * Ends an active session: status ended, reason, `endedAt`, and removes `wrappedKey` and
   * `sealedSecrets`. Returns the record as it was, or undefined if it was not active.
   */
  end(sessionId: string, reason: SessionEndReason, at: Date): Promise<SessionRecord | undefined>;
}

/** The sealed state between calls: S3 (with the call's role session) on AWS, files locally. */
export interface SessionStateStore {
  read(session: AssumedSession, sessionId: string): Promise<Uint8Array | undefined>;
  write(session: AssumedSession, sessionId: string, sealed: Uint8Array): Promise<void>;
  /** With the broker's own rights: at the end of the session (delete, expiry, revocation). */
  delete(sessionId: string): Promise<void>;
}
