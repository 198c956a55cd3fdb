/**
 * The ports of custody's core: what the broker and the digester talk through. On AWS each
 * has an adapter in `lambda/adapters/aws/`, in local mode one in `lambda/adapters/local/` (or the
 * AWS adapter pointed at dynalite); the core, the policy and the sandboxes are the same code in both.
 *
 * Declared here:
 * - `CredentialsPort`  STS AssumeRole per execution / a local minting authority
 * - `SecretsPort`      Secrets Manager read WITH the assumed session / a local secrets file
 * - `ExecutorPort`     Lambda Invoke of the profile's executor / the sandboxes in process
 * - `AuditStore`       the audit table: DynamoDB / dynalite
 * - `AuditLog`         one JSON line per record: the audit log group / `.custody/audit.log`
 * - `RevocationPort`   the kill switch's state, in the audit table
 * - `Clock`            the time, injectable (a function type, not an adapter)
 *
 * Declared beside them, each with helpers of its own:
 * - `MetricsSink`      (`metrics-sink.ts`) CloudWatch EMF / memory
 * - `AuditSigner`      (`audit-signer.ts`) signs audit digests: KMS / a P-256 key file
 * - `Sandbox`          (`types.ts`) runs one request in fresh state: QuickJS / Pyodide in Deno
 * and, with the chain logic it serves, `AuditDigestLog` (`lambda/audit/audit-log-line.ts`): the
 * audit log as the digester reads and appends it.
 */
import type { AuditRecord } from './audit-record.ts';
import type { SandboxRequest, SandboxResult } from './types.ts';

/** Temporary credentials of an assumed execution role (never the broker's own). */
export interface ScopedCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

export interface AssumeRoleInput {
  /** The profile's execution role. */
  readonly roleArn: string;
  /** Unique per execution, <= 64 chars of [\w+=,.@-]. */
  readonly sessionName: string;
  /** The caller's policy id (an ARN is not a valid source identity). */
  readonly sourceIdentity: string;
  /** Session tags: caller ARN, execution id, profile. */
  readonly tags: Readonly<Record<string, string>>;
  /** Inline session policy narrowing the role to this execution (JSON, <= 2,048 chars). */
  readonly sessionPolicy: string;
  /** @default 900 */
  readonly durationSeconds: number;
}

export interface AssumedSession {
  readonly credentials: ScopedCredentials;
  /** The role that was assumed. */
  readonly roleArn: string;
  /** arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION */
  readonly assumedRoleArn: string;
  readonly sessionName: string;
  readonly sourceIdentity: string;
}

/** STS in AWS; a local minting authority in local mode. */
export interface CredentialsPort {
  assumeRole(input: AssumeRoleInput): Promise<AssumedSession>;
}

/** A secret the profile grants: where to read it and what variable exposes it. */
export interface SecretRef {
  /** Variable name in the sandbox. */
  readonly variable: string;
  /** Secrets Manager secret id (ARN on AWS, name locally). */
  readonly secretId: string;
}

/** Secrets Manager in AWS (read WITH the assumed session), a local file in local mode. */
export interface SecretsPort {
  /** Returns variable -> value. Throws on any failure (the broker fails closed). */
  read(
    session: AssumedSession,
    secrets: readonly SecretRef[],
    context?: ExecutionContext,
  ): Promise<Record<string, string>>;
}

/** The profile's executor: Lambda Invoke in AWS (WITH the assumed session), in-process locally. */
export interface ExecutorPort {
  run(
    session: AssumedSession,
    profile: string,
    request: SandboxRequest,
    context?: ExecutionContext,
  ): Promise<SandboxResult>;
}

/**
 * What the broker already read while handling the request that minted `session`, handed to the
 * secrets and executor ports of that same request so an in-process port need not read it again.
 * Never carried past the request. AWS's adapters ignore it (IAM checks the session itself).
 */
export interface ExecutionContext {
  /**
   * The profile's kill-switch state as this request's decision read it (state undefined: never
   * revoked), and when the read began: a session issued before `readAt` is never judged by it.
   */
  readonly profileRevocation?: {
    readonly profile: string;
    readonly state: RevocationState | undefined;
    readonly readAt: Date;
  };
}

/** The audit trail: DynamoDB (+ the audit log group) in AWS, dynalite (+ a JSON-lines file) locally. */
export interface AuditStore {
  /**
   * Writes one immutable audit event. Must be conditional (never overwrites an event of the same
   * execution and kind). Throws if the write did not happen.
   */
  put(record: AuditRecord): Promise<void>;
  /** Every event of one execution, oldest first (empty if none). */
  get(executionId: string): Promise<AuditRecord[]>;
}

/** The audit log (CloudWatch log group in AWS, `.custody/audit.log` locally): one JSON line per record. */
export interface AuditLog {
  write(record: AuditRecord): Promise<void>;
}

/** A clock, injectable for tests of just-in-time windows. */
export type Clock = () => Date;

/** What the kill switch is aimed at: a profile (and its role's sessions) or a principal (its grants). */
export type RevocationScope = 'profile' | 'principal';

/** The kill-switch state of one profile or principal, as `custody revoke` / `reinstate` left it. */
export interface RevocationState {
  readonly scope: RevocationScope;
  /** Profile name or principal id. */
  readonly target: string;
  /** Whether the target is revoked now (false after `custody reinstate`). */
  readonly revoked: boolean;
  /** ISO instant of the last revocation. */
  readonly revokedAt: string;
  /** Why, as the operator stated it. */
  readonly reason?: string;
  /** Who revoked it (the operator's ARN, or `local:<user>` in local mode). */
  readonly revokedBy: string;
  /**
   * Profile scope: sessions of its role issued before this ISO instant are invalid. Kept after
   * reinstatement, as IAM keeps the `aws:TokenIssueTime` deny: old sessions stay dead.
   */
  readonly sessionsIssuedBefore?: string;
  /** ISO instant of the reinstatement that ended the last revocation, if any. */
  readonly reinstatedAt?: string;
}

/**
 * The kill switch's state, read by the broker on every request (DynamoDB on AWS, dynalite
 * locally). Throws if the state cannot be read: the broker then fails closed (503).
 */
export interface RevocationPort {
  /** The state of one target; undefined if it was never revoked. */
  get(scope: RevocationScope, target: string): Promise<RevocationState | undefined>;
}
