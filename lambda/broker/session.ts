/**
 * Step 5 of an execution, the pure part: what the broker asks STS for. One role session per
 * execution, named after it, carrying the caller's policy id as SourceIdentity, tagged with who
 * and what, and narrowed by an inline session policy to this execution's executor and secrets.
 */
import { DependencyError } from '../core/errors.ts';
import { TAG_CALLER, TAG_EXECUTION_ID, TAG_PROFILE } from '../core/ids.ts';
import type { AssumeRoleInput } from '../core/ports.ts';
import { TAG_SESSION_ID } from '../core/session.ts';

/** Role chaining (the broker's own credentials come from a role) caps sessions at 1 h; 15 min is STS's minimum. */
const SESSION_DURATION_SECONDS = 900;
/** STS limits. */
const MAX_SESSION_NAME_CHARS = 64;
const MAX_SESSION_POLICY_CHARS = 2048;
const MAX_TAG_VALUE_CHARS = 256;

const SESSION_CHARS = /[^\w+=,.@-]/g;

/** `<principalId>@<executionId>`, trimmed from the principal side to stay within 64 chars. */
export function sessionNameFor(principalId: string, executionId: string): string {
  const id = executionId.replace(SESSION_CHARS, '-');
  const room = MAX_SESSION_NAME_CHARS - id.length - 1;
  const who = principalId.replace(SESSION_CHARS, '-').slice(0, Math.max(room, 0));
  return (who === '' ? id : `${who}@${id}`).slice(0, MAX_SESSION_NAME_CHARS);
}

/** STS tag values: letters, digits, spaces and `_ . : / = + - @`, up to 256 chars. */
function tagValue(value: string): string {
  return value.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, '_').slice(0, MAX_TAG_VALUE_CHARS);
}

export function sessionTags(
  callerArn: string,
  executionId: string,
  profile: string,
  sessionId?: string,
): Record<string, string> {
  return {
    [TAG_CALLER]: tagValue(callerArn),
    [TAG_EXECUTION_ID]: tagValue(executionId),
    [TAG_PROFILE]: tagValue(profile),
    // A call (or the start) of a custody session: the execution role's state prefix is keyed on it.
    ...(sessionId !== undefined ? { [TAG_SESSION_ID]: tagValue(sessionId) } : {}),
  };
}

/** The partition of an ARN (`aws`, `aws-cn`, ...), `aws` when it is not an ARN. */
function partitionOf(arn: string): string {
  return /^arn:([a-z-]+):/.exec(arn)?.[1] ?? 'aws';
}

/**
 * The secret as an IAM resource: an ARN is used as is; a bare name becomes the ARN pattern
 * Secrets Manager gives it (`name-` plus six random characters).
 */
function secretResource(secretId: string, partition: string): string {
  return secretId.startsWith('arn:')
    ? secretId
    : `arn:${partition}:secretsmanager:*:*:secret:${secretId}-??????`;
}

/**
 * The inline session policy: invoke this profile's executor; read these secrets (and decrypt
 * them only through Secrets Manager). The role's own policy still applies: this only narrows it.
 * Throws DependencyError('credentials') if it would exceed STS's 2,048-character limit.
 */
export function sessionPolicy(
  executorArn: string,
  secretIds: readonly string[],
  data: S3Scopes = { read: [] },
  sessionId?: string,
): string {
  const partition = partitionOf(executorArn);
  const statements: object[] = [{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: executorArn }];
  statements.push(...s3Statements(data, partition));
  if (sessionId !== undefined) {
    // The session's sealed state, read and written with this role session (the role's own policy
    // names the bucket and keys the prefix on the session tag; this narrows it to the one session).
    statements.push({
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject'],
      Resource: `arn:${partition}:s3:::*/sessions/${sessionId}/*`,
    });
    // The state bucket is SSE-KMS: S3 uses the session key on the caller's behalf.
    statements.push({
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: '*',
      Condition: { StringLike: { 'kms:ViaService': 's3.*.amazonaws.com' } },
    });
  }
  if (secretIds.length > 0) {
    statements.push(
      {
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: secretIds.map((id) => secretResource(id, partition)),
      },
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringLike: { 'kms:ViaService': 'secretsmanager.*.amazonaws.com' } },
      },
    );
  }
  const json = JSON.stringify({ Version: '2012-10-17', Statement: statements });
  if (json.length > MAX_SESSION_POLICY_CHARS) {
    throw new DependencyError(
      'credentials',
      `The session policy for this profile is ${json.length} characters, over STS's limit of ${MAX_SESSION_POLICY_CHARS}; grant fewer secrets per profile.`,
    );
  }
  return json;
}

/** #16: the S3 locations a profile's session may reach: datasets to read, outputs to write. */
export interface S3Scopes {
  readonly read: readonly { readonly bucket: string; readonly prefix: string; readonly kmsKeyArn?: string }[];
  readonly write?: { readonly bucket: string; readonly prefix: string };
}

/**
 * #16: the session policy's share of the role's S3 grant (the role holds the same, exactly): read
 * `bucket/prefix*` of each dataset, list each bucket only under those prefixes, put under outputs.
 */
function s3Statements(data: S3Scopes, partition: string): object[] {
  const statements: object[] = [];
  if (data.read.length > 0) {
    statements.push(
      {
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: data.read.map((d) => `arn:${partition}:s3:::${d.bucket}/${d.prefix}*`),
      },
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: [...new Set(data.read.map((d) => `arn:${partition}:s3:::${d.bucket}`))],
        Condition: { StringLike: { 's3:prefix': [...new Set(data.read.map((d) => `${d.prefix}*`))] } },
      },
    );
  }
  const keys = [...new Set(data.read.flatMap((d) => (d.kmsKeyArn ? [d.kmsKeyArn] : [])))];
  if (keys.length > 0) {
    statements.push({
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: keys,
      Condition: { StringLike: { 'kms:ViaService': 's3.*.amazonaws.com' } },
    });
  }
  if (data.write) {
    statements.push({
      Effect: 'Allow',
      Action: 's3:PutObject',
      Resource: `arn:${partition}:s3:::${data.write.bucket}/${data.write.prefix}*`,
    });
  }
  return statements;
}

export interface AssumeRoleRequestInput {
  readonly roleArn: string;
  readonly executorArn: string;
  readonly secretIds: readonly string[];
  readonly principalId: string;
  readonly callerArn: string;
  readonly executionId: string;
  readonly profile: string;
  /** A call (or the start) of a custody session (`ses_<ULID>`): tagged, and its state prefix allowed. */
  readonly sessionId?: string;
  /** #16 @default none */
  readonly s3?: S3Scopes;
}

export function assumeRoleInput(input: AssumeRoleRequestInput): AssumeRoleInput {
  return {
    roleArn: input.roleArn,
    sessionName: sessionNameFor(input.principalId, input.executionId),
    sourceIdentity: input.principalId,
    tags: sessionTags(input.callerArn, input.executionId, input.profile, input.sessionId),
    sessionPolicy: sessionPolicy(input.executorArn, input.secretIds, input.s3, input.sessionId),
    durationSeconds: SESSION_DURATION_SECONDS,
  };
}
