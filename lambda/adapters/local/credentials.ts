/**
 * The local credentials port: a minting authority standing in for STS.
 *
 * Each execution gets its own session: random temporary keys (ASIA...), a session token and an
 * expiration, issued only for a role of the local deployment and only when the request satisfies
 * the constraints STS itself enforces (session name and source identity charset and length, no
 * ARN as source identity, tag limits, a session policy of at most 2,048 characters, a duration of
 * 900 to 3,600 seconds — role chaining's cap). Every issued session is recorded like CloudTrail
 * records AssumeRole (role, session name, source identity, tags, expiration; never the secret
 * key or token) in `.custody/sts.log`. The local secrets and executor ports accept only sessions
 * this authority issued, that have not expired, and that were not issued before their profile was
 * revoked (`custody revoke`: the local equivalent of the `aws:TokenIssueTime` deny on the role).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { DependencyError } from '../../core/errors.ts';
import type {
  AssumedSession,
  AssumeRoleInput,
  Clock,
  CredentialsPort,
  ExecutionContext,
  RevocationPort,
  ScopedCredentials,
} from '../../core/ports.ts';
import { type LocalDeployment, profileOfRole } from './deployment.ts';
import { LineAppender } from './line-appender.ts';

/** STS: RoleSessionName and SourceIdentity are 2-64 characters of [\w+=,.@-]. */
const STS_NAME = /^[\w+=,.@-]{2,64}$/;
/** STS session tag keys and values: letters, spaces, digits and _.:/=+-@. */
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const MAX_SESSION_POLICY_CHARS = 2048;
const MIN_DURATION_SECONDS = 900;
/** Role chaining (the broker's own credentials are a role session) caps sessions at one hour. */
const MAX_DURATION_SECONDS = 3600;
const MAX_TAGS = 50;

/** What the authority remembers of a session it issued. */
export interface IssuedSession {
  readonly accessKeyId: string;
  readonly roleArn: string;
  readonly assumedRoleArn: string;
  readonly profile: string;
  readonly sessionName: string;
  readonly sourceIdentity: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly sessionPolicy: string;
  readonly issuedAt: Date;
  readonly expiration: Date;
}

export type SessionCheck =
  | { readonly ok: true; readonly session: IssuedSession }
  | { readonly ok: false; readonly reason: 'UNKNOWN_SESSION' | 'EXPIRED_SESSION' }
  | { readonly ok: false; readonly reason: 'REVOKED_SESSION'; readonly revokedAt: string };

export interface LocalCredentialsOptions {
  readonly deployment: LocalDeployment;
  /** JSON-lines record of issued sessions; omitted in unit tests. */
  readonly stsLogFile?: string;
  /** @default () => new Date() */
  readonly clock?: Clock;
  /** The kill switch: `authorize` refuses sessions issued before their profile's revocation. */
  readonly revocations?: RevocationPort;
}

interface StoredSession extends IssuedSession {
  readonly secretAccessKey: string;
  readonly sessionToken: string;
}

function stsRejection(message: string): DependencyError {
  return new DependencyError('credentials', `STS AssumeRole refused: ${message}`);
}

function sameSecret(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** Checks an AssumeRole request as STS would; returns what is wrong, or undefined. */
function assumeRoleProblem(input: AssumeRoleInput): string | undefined {
  if (!STS_NAME.test(input.sessionName)) {
    return `RoleSessionName "${input.sessionName.slice(0, 80)}" must be 2-64 characters of [\\w+=,.@-]`;
  }
  if (input.sourceIdentity.startsWith('arn:')) {
    return `SourceIdentity must not be an ARN ("${input.sourceIdentity.slice(0, 80)}")`;
  }
  if (!STS_NAME.test(input.sourceIdentity) || input.sourceIdentity.toLowerCase().startsWith('aws:')) {
    return `SourceIdentity "${input.sourceIdentity.slice(0, 80)}" must be 2-64 characters of [\\w+=,.@-], not starting with aws:`;
  }
  const tags = Object.entries(input.tags);
  if (tags.length > MAX_TAGS) return `at most ${MAX_TAGS} session tags are allowed, got ${tags.length}`;
  const lowerKeys = new Set<string>();
  for (const [key, value] of tags) {
    if (key.length < 1 || key.length > 128 || !TAG_CHARS.test(key) || key.toLowerCase().startsWith('aws:')) {
      return `session tag key "${key.slice(0, 80)}" must be 1-128 characters of letters, digits, spaces and _.:/=+-@`;
    }
    if (value.length > 256 || !TAG_CHARS.test(value)) {
      return `session tag "${key}" value must be at most 256 characters of letters, digits, spaces and _.:/=+-@`;
    }
    if (lowerKeys.has(key.toLowerCase()))
      return `session tag key "${key}" is repeated (keys are case-insensitive)`;
    lowerKeys.add(key.toLowerCase());
  }
  if (input.sessionPolicy.length > MAX_SESSION_POLICY_CHARS) {
    return `the session policy has ${input.sessionPolicy.length} characters; at most ${MAX_SESSION_POLICY_CHARS} are allowed`;
  }
  try {
    JSON.parse(input.sessionPolicy);
  } catch {
    return 'the session policy is not valid JSON';
  }
  if (
    !Number.isInteger(input.durationSeconds) ||
    input.durationSeconds < MIN_DURATION_SECONDS ||
    input.durationSeconds > MAX_DURATION_SECONDS
  ) {
    return `DurationSeconds must be an integer from ${MIN_DURATION_SECONDS} to ${MAX_DURATION_SECONDS}, got ${input.durationSeconds}`;
  }
  return undefined;
}

export class LocalCredentialsPort implements CredentialsPort {
  private readonly sessions = new Map<string, StoredSession>();
  private readonly deployment: LocalDeployment;
  private readonly clock: Clock;
  private readonly stsLog: LineAppender | undefined;
  private readonly revocations: RevocationPort | undefined;

  constructor(options: LocalCredentialsOptions) {
    this.deployment = options.deployment;
    this.clock = options.clock ?? (() => new Date());
    this.stsLog = options.stsLogFile ? new LineAppender(options.stsLogFile) : undefined;
    this.revocations = options.revocations;
  }

  async assumeRole(input: AssumeRoleInput): Promise<AssumedSession> {
    const profile = profileOfRole(this.deployment, input.roleArn);
    if (profile === undefined) {
      throw stsRejection(`role ${input.roleArn.slice(0, 200)} is not an execution role of this deployment`);
    }
    const problem = assumeRoleProblem(input);
    if (problem) throw stsRejection(problem);

    this.forgetExpired();
    const issuedAt = this.clock();
    const roleName = input.roleArn.slice(input.roleArn.lastIndexOf('/') + 1);
    const stored: StoredSession = {
      accessKeyId: `ASIA${randomBytes(10).toString('hex').toUpperCase().slice(0, 16)}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(64).toString('base64'),
      roleArn: input.roleArn,
      assumedRoleArn: `arn:aws:sts::${this.deployment.accountId}:assumed-role/${roleName}/${input.sessionName}`,
      profile,
      sessionName: input.sessionName,
      sourceIdentity: input.sourceIdentity,
      tags: { ...input.tags },
      sessionPolicy: input.sessionPolicy,
      issuedAt,
      expiration: new Date(issuedAt.getTime() + input.durationSeconds * 1000),
    };
    this.sessions.set(stored.accessKeyId, stored);
    if (this.stsLog) {
      const event = {
        eventTime: issuedAt.toISOString(),
        eventSource: 'sts.local',
        eventName: 'AssumeRole',
        roleArn: stored.roleArn,
        assumedRoleArn: stored.assumedRoleArn,
        roleSessionName: stored.sessionName,
        sourceIdentity: stored.sourceIdentity,
        tags: stored.tags,
        sessionPolicy: stored.sessionPolicy,
        durationSeconds: input.durationSeconds,
        accessKeyId: stored.accessKeyId,
        expiration: stored.expiration.toISOString(),
      };
      try {
        await this.stsLog.append(JSON.stringify(event));
      } catch (err) {
        this.sessions.delete(stored.accessKeyId);
        throw new DependencyError('credentials', 'the local STS could not record the session', {
          cause: err,
        });
      }
    }
    const credentials: ScopedCredentials = {
      accessKeyId: stored.accessKeyId,
      secretAccessKey: stored.secretAccessKey,
      sessionToken: stored.sessionToken,
      expiration: stored.expiration,
    };
    return {
      credentials,
      roleArn: stored.roleArn,
      assumedRoleArn: stored.assumedRoleArn,
      sessionName: stored.sessionName,
      sourceIdentity: stored.sourceIdentity,
    };
  }

  /** Authenticates credentials as AWS would on a later call: issued here, secret and token match, not expired. */
  check(credentials: ScopedCredentials): SessionCheck {
    const stored = this.sessions.get(credentials.accessKeyId);
    if (
      !stored ||
      !sameSecret(stored.secretAccessKey, credentials.secretAccessKey) ||
      !sameSecret(stored.sessionToken, credentials.sessionToken)
    ) {
      return { ok: false, reason: 'UNKNOWN_SESSION' };
    }
    if (this.clock().getTime() >= stored.expiration.getTime())
      return { ok: false, reason: 'EXPIRED_SESSION' };
    const { secretAccessKey: _s, sessionToken: _t, ...session } = stored;
    return { ok: true, session };
  }

  /**
   * `check`, then the kill switch: a session issued before its profile's `sessionsIssuedBefore`
   * is refused, as IAM refuses it on AWS. Throws DependencyError if the state cannot be read.
   * The state comes from `context` when the broker passes the read of the request that minted the
   * session: same profile, and the session issued after that read began. Any other call (another
   * profile, an older session) reads it afresh. Nothing is cached across requests.
   */
  async authorize(credentials: ScopedCredentials, context?: ExecutionContext): Promise<SessionCheck> {
    const checked = this.check(credentials);
    if (!checked.ok || !this.revocations) return checked;
    const known = context?.profileRevocation;
    const reuse =
      known !== undefined &&
      known.profile === checked.session.profile &&
      checked.session.issuedAt.getTime() >= known.readAt.getTime();
    const state = reuse ? known.state : await this.revocations.get('profile', checked.session.profile);
    const before =
      state?.sessionsIssuedBefore === undefined ? Number.NaN : Date.parse(state.sessionsIssuedBefore);
    if (checked.session.issuedAt.getTime() < before) {
      return { ok: false, reason: 'REVOKED_SESSION', revokedAt: state?.sessionsIssuedBefore ?? '' };
    }
    return checked;
  }

  /** Waits for the STS log lines written so far and closes the file. */
  async close(): Promise<void> {
    await this.stsLog?.close();
  }

  /** Sessions issued and not yet expired (for inspection and tests). */
  activeSessions(): IssuedSession[] {
    this.forgetExpired();
    const now = this.clock().getTime();
    return [...this.sessions.values()]
      .filter((session) => session.expiration.getTime() > now)
      .map(({ secretAccessKey: _s, sessionToken: _t, ...session }) => session);
  }

  /**
   * Drops expired sessions from the front of the map (issue order) up to the first live one, so
   * each call costs what has expired since the last, not every session held. One with a shorter
   * duration issued after a longer one waits for it; `check` refuses it as expired meanwhile.
   */
  private forgetExpired(): void {
    const now = this.clock().getTime();
    for (const [key, session] of this.sessions) {
      if (session.expiration.getTime() > now) return;
      this.sessions.delete(key);
    }
  }
}

/** Why a session was refused, in words (for the secrets and executor ports' errors). */
export function sessionProblem(check: Extract<SessionCheck, { ok: false }>): string {
  switch (check.reason) {
    case 'EXPIRED_SESSION':
      return 'the session has expired';
    case 'REVOKED_SESSION':
      return `the session was issued before its profile's sessions were revoked (${check.revokedAt})`;
    default:
      return 'the credentials are not a session issued for an execution';
  }
}
