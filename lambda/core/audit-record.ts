/**
 * One audit event: who ran what, under which role, and what came out.
 *
 * Each execution leaves immutable events: `started` then `completed`, or a single `denied`
 * (a request refused before anything ran: bad signature, no grant, credential in code, ...).
 * An operator's kill switch leaves `revoked` or `reinstated` (see `docs/revocation.md`): its
 * executionId is the action's own id, its caller the operator, and `revocation` says what changed.
 * The same record goes to DynamoDB and, as one JSON line, to the audit log group.
 * Field names here are what dashboards, Logs Insights queries and Contributor Insights rules read:
 * change them only together with `lib/` and the tests that check the names match.
 */
import type { Language, SandboxStatus } from './types.ts';

export const AUDIT_EVENTS = [
  'started',
  'completed',
  'denied',
  'revoked',
  'reinstated',
  'session_started',
  'session_ended',
] as const;
export type AuditEvent = (typeof AUDIT_EVENTS)[number];

/** Why a session ended (the `session_ended` audit record's reason, #15). */
const SESSION_END_REASONS = ['deleted', 'expired', 'revoked'] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

/** One object read for a call, as the audit record keeps it (the chain of custody of the data). */
export interface DatasetObjectRecord {
  readonly dataset: string;
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  readonly etag?: string;
  readonly bytes: number;
  /** sha256 (hex) of the bytes the sandbox received. */
  readonly sha256: string;
}

/** One artifact stored for a call (the answer and the audit record list them). */
export interface ArtifactRecord {
  /** The output file's name, as the answer's `files` has it. */
  readonly path: string;
  /** `outputs.prefix/<executionId>/<path>` */
  readonly key: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** Who called, as the API edge saw it. */
export interface AuditCaller {
  /** The ARN the request was signed by (assumed-role session ARN or IAM user ARN); 'anonymous' if unsigned. */
  readonly arn: string;
  /** The policy principal it matched (role or user ARN), if any. */
  readonly principalArn?: string;
  /** The policy principal's short id (the STS SourceIdentity), if any. */
  readonly principalId?: string;
  readonly accountId?: string;
  readonly accessKeyId?: string;
  readonly sourceIp?: string;
  readonly userAgent?: string;
}

/** One file in or out of a run (#16): its name, its size and the sha256 of its exact bytes. */
export interface AuditFile {
  readonly name: string;
  readonly bytes: number;
  /** sha256 (hex) of the file's bytes (text: its UTF-8). */
  readonly sha256: string;
}

export interface AuditRequest {
  readonly profile?: string;
  readonly language?: Language;
  /** sha256 (hex) of the code as received. */
  readonly codeSha256?: string;
  readonly codeBytes?: number;
  /** The code itself, when the profile's `auditCode` is 'full'. */
  readonly code?: string;
  /** The prompt or task that produced the code, as the agent stated it. */
  readonly purpose?: string;
  readonly fileNames?: readonly string[];
  /** Each input file's name, size and sha256 (#16). */
  readonly files?: readonly AuditFile[];
  /** The run's time limit (`started`, `completed`): `audit verify` expects an outcome by then. */
  readonly timeoutMs?: number;
}

/**
 * A field cut to keep the record within its bounds (`lambda/core/audit-bounds.ts`): the record
 * keeps a prefix of `keptBytes` (0: none) and this says how large the whole was and its sha256.
 */
export interface AuditCut {
  /** Path of the field: `request.code`, `request.purpose`, `decision.message`, ... */
  readonly field: string;
  /** UTF-8 bytes of the whole value (a list: of its JSON). */
  readonly bytes: number;
  /** sha256 (hex) of the whole value's UTF-8 bytes (a list: of its JSON). */
  readonly sha256: string;
  readonly keptBytes: number;
}

/** The role session the code ran under. */
export interface AuditRole {
  readonly arn: string;
  readonly assumedRoleArn: string;
  readonly sessionName: string;
  readonly sourceIdentity: string;
}

interface AuditOutcome {
  /** The sandbox status, or 'error' when the executor or a dependency failed. */
  readonly status: SandboxStatus | 'error';
  /** sha256 (hex) of the sealed (redacted) output document. */
  readonly outputSha256?: string;
  /** Each output file as returned (after redaction): name, size and sha256 (#16). */
  readonly files?: readonly AuditFile[];
  readonly redactions: number;
  readonly truncated: boolean;
  readonly errorName?: string;
  /** Why the execution errored (dependency failures), never a stack trace. */
  readonly errorMessage?: string;
  /** #16: each dataset object the sandbox received: dataset, bucket, key, version or ETag, bytes, sha256. */
  readonly datasets?: readonly DatasetObjectRecord[];
  /** #16: each output file also stored as an artifact (bucket: the profile's outputs). */
  readonly artifacts?: readonly (ArtifactRecord & { readonly bucket: string })[];
}

/** What a `revoked` or `reinstated` event changed (the kill switch, `custody revoke`). */
export interface AuditRevocation {
  /** A profile (every session invalidated, no new execution) or a principal (its grants suspended). */
  readonly scope: 'profile' | 'principal';
  /** The profile name or the principal id. */
  readonly target: string;
  /** Why, as the operator stated it. */
  readonly reason?: string;
  /** Profile scope: sessions of its role issued before this ISO instant are invalid. */
  readonly sessionsIssuedBefore?: string;
  /** Profile scope on AWS: the execution role that received the `aws:TokenIssueTime` deny. */
  readonly roleName?: string;
}

/**
 * The session an event belongs to (#15): on `session_started` and `session_ended` (whose
 * executionId is the event's own id) and on every `started`/`completed`/`denied` of a session call.
 */
export interface AuditSession {
  readonly sessionId: string;
  /** A call's place in the session: 1, 2, ... (execution events only). */
  readonly sequence?: number;
  /** `session_started`: when it will end on its own (ISO). */
  readonly expiresAt?: string;
  /** `session_ended`: why, how many calls ran, how long it lasted, the last state size. */
  readonly endReason?: SessionEndReason;
  readonly executions?: number;
  readonly durationSeconds?: number;
  readonly stateBytes?: number;
}

export interface AuditRecord {
  readonly schemaVersion: 1;
  readonly executionId: string;
  readonly event: AuditEvent;
  /** ISO-8601 instant the event was recorded. */
  readonly timestamp: string;
  readonly caller: AuditCaller;
  readonly request: AuditRequest;
  readonly decision: {
    readonly allowed: boolean;
    /** 'ALLOWED' or a denial reason code (NO_GRANT, GRANT_EXPIRED, HARDCODED_CREDENTIAL, ...). */
    readonly reason: string;
    readonly message?: string;
  };
  readonly role?: AuditRole;
  /** Names (never values) of the secret variables injected. */
  readonly secretVariables?: readonly string[];
  readonly outcome?: AuditOutcome;
  /** Per-phase latency in milliseconds: validate, decide, auditStart, assume, secrets, execute, seal. */
  readonly timingsMs?: Readonly<Record<string, number>>;
  /** Set on `revoked` and `reinstated` events only. */
  readonly revocation?: AuditRevocation;
  /** Set on session events and on the records of a session's calls (#15). */
  readonly session?: AuditSession;
  /** The fields cut to fit the record's bounds, if any (see AuditCut). */
  readonly cut?: readonly AuditCut[];
  /** Where the request came in: 'aws' or 'local'. */
  readonly origin: 'aws' | 'local';
}
