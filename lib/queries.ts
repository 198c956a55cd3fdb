/**
 * Logs Insights queries over the audit log group: saved as query definitions (CloudWatch console →
 * Logs Insights → Saved queries) and reused by the dashboard's log widgets.
 *
 * The audit log holds one JSON object per line (`lambda/audit/audit-log-line.ts`): audit records
 * (the canonical JSON of `AuditRecord`), digests (`auditDigest`) and verification results
 * (`auditVerification`). Logs Insights discovers the nested fields as dotted paths
 * (`caller.arn`, `request.codeSha256`); `field()` only accepts paths of `AuditRecord`, and a test
 * checks every path in every query against records the broker really wrote.
 *
 * Saved queries cannot take parameters or keep a time range: the ones that need a value say so in
 * their name and carry a placeholder (e.g. `PRINCIPAL_ARN`) and a `#` comment on how to fill it in.
 */
import { Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { AuditRecord } from '../lambda/core/audit-record.ts';

type Leaf = string | number | boolean;
type PathsOf<T> = {
  [K in keyof T & string]-?: NonNullable<T[K]> extends Leaf | readonly unknown[]
    ? K
    : `${K}.${PathsOf<NonNullable<T[K]>>}`;
}[keyof T & string];

/** A field of an audit record line, as Logs Insights names it. */
export type AuditRecordField = PathsOf<AuditRecord>;

/** Names a record field; the type refuses a path `AuditRecord` does not have. */
export function field(path: AuditRecordField): string {
  return path;
}

/** Fields of the `auditVerification` line (`verificationLine` in `lambda/audit/audit-log-line.ts`). */
type VerificationField =
  | 'ok'
  | 'verifiedAt'
  | 'scope'
  | 'records'
  | 'digests'
  | 'uncovered'
  | 'lastDigestSequence'
  | 'problem.kind'
  | 'problem.executionId'
  | 'problem.event'
  | 'problem.digestSequence'
  | 'problem.message';

function verificationField(path: VerificationField): string {
  return `auditVerification.${path}`;
}

export interface AuditQuery {
  /** Construct id of its saved definition. */
  readonly id: string;
  /** Name in the Saved queries list (under a folder named after the stack). */
  readonly title: string;
  /** What it answers and how to use it (docs/operations.md repeats it). */
  readonly description: string;
  /** The Logs Insights query. */
  readonly query: string;
}

/** Placeholders the parameterised queries carry (Logs Insights has no parameters). */
export const PLACEHOLDER = {
  principalArn: 'PRINCIPAL_ARN',
  codeSha256: 'CODE_SHA256',
  sessionId: 'SESSION_ID',
} as const;

const lines = (...parts: string[]): string => parts.join('\n');

/** What one execution looked like, newest first: the columns of the latest-executions table. */
const EXECUTION_COLUMNS = [
  field('timestamp'),
  field('caller.principalId'),
  field('caller.arn'),
  field('request.profile'),
  field('role.sessionName'),
  field('outcome.status'),
  field('request.codeSha256'),
  field('outcome.outputSha256'),
  field('executionId'),
].join(', ');

/** Every event of a request, allowed or denied. */
const EVENT_COLUMNS = [
  field('timestamp'),
  field('event'),
  field('executionId'),
  field('caller.arn'),
  field('request.profile'),
  field('request.language'),
  field('request.codeSha256'),
  field('request.purpose'),
  field('decision.reason'),
  field('role.sessionName'),
  field('outcome.status'),
  field('outcome.outputSha256'),
].join(', ');

export const LATEST_EXECUTIONS: AuditQuery = {
  id: 'LatestExecutions',
  title: 'Latest executions',
  description:
    'The 50 most recent completed executions: time, caller, profile, role session, status, code and output digests.',
  query: lines(
    `fields ${EXECUTION_COLUMNS}`,
    `| filter ${field('event')} = "completed"`,
    '| sort @timestamp desc',
    '| limit 50',
  ),
};

export const EVERYTHING_A_PRINCIPAL_RAN: AuditQuery = {
  id: 'EverythingPrincipalRan',
  title: `Everything principal ${PLACEHOLDER.principalArn} ran (replace ${PLACEHOLDER.principalArn})`,
  description:
    'Every request of one policy principal, allowed or denied, newest first. Replace PRINCIPAL_ARN with the ' +
    'principal ARN as custody.policy.json writes it, and pick the time range.',
  query: lines(
    `# Replace ${PLACEHOLDER.principalArn} with the principal ARN from custody.policy.json, e.g. arn:aws:iam::111122223333:role/custody-agent`,
    `fields ${EVENT_COLUMNS}`,
    `| filter ${field('caller.principalArn')} = "${PLACEHOLDER.principalArn}"`,
    '| sort @timestamp desc',
    '| limit 10000',
  ),
};

export const EVERY_EXECUTION_OF_CODE: AuditQuery = {
  id: 'EveryExecutionOfCode',
  title: `Every execution of code digest ${PLACEHOLDER.codeSha256} (replace ${PLACEHOLDER.codeSha256})`,
  description:
    'Every request that sent the same code, by anyone. Replace CODE_SHA256 with the SHA-256 (hex) of the code — ' +
    'the codeSha256 of an execution response or an audit record.',
  query: lines(
    `# Replace ${PLACEHOLDER.codeSha256} with the 64-character hex SHA-256 of the code`,
    `fields ${EVENT_COLUMNS}`,
    `| filter ${field('request.codeSha256')} = "${PLACEHOLDER.codeSha256}"`,
    '| sort @timestamp desc',
    '| limit 10000',
  ),
};

export const DENIALS: AuditQuery = {
  id: 'AllDenials',
  title: 'All denials (set the time range to yesterday)',
  description:
    'Every refused request with its reason, caller and source address. Saved queries keep no time range: ' +
    'choose "yesterday" (or any range) in the time picker before running it.',
  query: lines(
    '# Saved queries keep no time range: set it to yesterday (or the day you need) before running',
    `fields ${[
      field('timestamp'),
      field('caller.arn'),
      field('caller.principalId'),
      field('caller.sourceIp'),
      field('request.profile'),
      field('decision.reason'),
      field('decision.message'),
      field('executionId'),
    ].join(', ')}`,
    `| filter ${field('event')} = "denied"`,
    '| sort @timestamp desc',
    '| limit 10000',
  ),
};

const DENIALS_BY_REASON: AuditQuery = {
  id: 'DenialsByReason',
  title: 'Denials by reason and caller',
  description: 'How many requests each caller had refused, and why, in the chosen time range.',
  query: lines(
    `filter ${field('event')} = "denied"`,
    `| stats count(*) as denials by ${field('decision.reason')}, ${field('caller.arn')}`,
    '| sort denials desc',
  ),
};

export const KILL_SWITCH_ACTIONS: AuditQuery = {
  id: 'KillSwitchActions',
  title: 'Kill switch actions (custody revoke and reinstate)',
  description:
    'Every profile revoked or principal suspended, and every reinstatement: when, by whom, what and why.',
  query: lines(
    `fields ${[
      field('timestamp'),
      field('event'),
      field('caller.arn'),
      field('revocation.scope'),
      field('revocation.target'),
      field('revocation.reason'),
      field('revocation.sessionsIssuedBefore'),
      field('revocation.roleName'),
      field('decision.message'),
    ].join(', ')}`,
    `| filter ${field('event')} = "revoked" or ${field('event')} = "reinstated"`,
    '| sort @timestamp desc',
    '| limit 10000',
  ),
};

export const LAST_VERIFICATION: AuditQuery = {
  id: 'LastAuditVerification',
  title: 'Last audit verification',
  description:
    'The newest result of the digester’s verification of the signed digest chain (ok, or the first problem found).',
  query: lines(
    `fields ${[
      verificationField('verifiedAt'),
      verificationField('ok'),
      verificationField('scope'),
      verificationField('records'),
      verificationField('digests'),
      verificationField('lastDigestSequence'),
      verificationField('problem.kind'),
      verificationField('problem.executionId'),
      verificationField('problem.event'),
      verificationField('problem.message'),
    ].join(', ')}`,
    `| filter ispresent(${verificationField('ok')})`,
    '| sort @timestamp desc',
    '| limit 1',
  ),
};

/**
 * Sessions (#15) not yet ended: the last session event of each id is its `session_started`. A
 * session past its `expiresAt` stays here until the broker's sweep (or its next access) ends it.
 */
export const ACTIVE_SESSIONS: AuditQuery = {
  id: 'ActiveSessions',
  title: 'Active sessions (started, not yet ended)',
  description:
    'Every session whose session_started has no session_ended after it, in the chosen time range (pick one ' +
    'longer than the longest maxSessionSeconds): who started it, on which profile, when it expires.',
  query: lines(
    `filter ${field('event')} = "session_started" or ${field('event')} = "session_ended"`,
    `| stats latest(${field('event')}) as lastEvent, earliest(${field('timestamp')}) as startedAt, ` +
      `earliest(${field('caller.arn')}) as startedBy, earliest(${field('request.profile')}) as profile, ` +
      `earliest(${field('session.expiresAt')}) as expiresAt by ${field('session.sessionId')}`,
    '| filter lastEvent = "session_started"',
    '| sort startedAt desc',
    '| limit 1000',
  ),
};

/** How sessions ended: the reason, how long they lasted, how many calls ran, the last state size. */
export const SESSION_ENDS: AuditQuery = {
  id: 'SessionEnds',
  title: 'Session ends (reason, length, calls)',
  description:
    'Every ended session, newest first: why it ended (deleted, expired, revoked), how long it lasted, how many ' +
    'calls it ran and how large its state was at the end.',
  query: lines(
    `fields ${[
      field('timestamp'),
      field('session.sessionId'),
      field('session.endReason'),
      field('session.durationSeconds'),
      field('session.executions'),
      field('session.stateBytes'),
      field('caller.arn'),
    ].join(', ')}`,
    `| filter ${field('event')} = "session_ended"`,
    '| sort @timestamp desc',
    '| limit 10000',
  ),
};

const SESSION_LENGTHS_BY_REASON: AuditQuery = {
  id: 'SessionLengthsByReason',
  title: 'Session lengths by end reason',
  description:
    'Per end reason in the chosen time range: how many sessions, their average and longest length in seconds, ' +
    'and the calls they ran.',
  query: lines(
    `filter ${field('event')} = "session_ended"`,
    `| stats count(*) as sessions, avg(${field('session.durationSeconds')}) as avgSeconds, ` +
      `max(${field('session.durationSeconds')}) as maxSeconds, sum(${field('session.executions')}) as calls ` +
      `by ${field('session.endReason')}`,
    '| sort sessions desc',
  ),
};

export const EVERYTHING_IN_A_SESSION: AuditQuery = {
  id: 'EverythingInSession',
  title: `Everything in session ${PLACEHOLDER.sessionId} (replace ${PLACEHOLDER.sessionId})`,
  description:
    'The whole story of one session, oldest first: its start, each call (allowed or denied) by sequence, and ' +
    'its end. Replace SESSION_ID with the session id (ses_…).',
  query: lines(
    `# Replace ${PLACEHOLDER.sessionId} with the session id, e.g. ses_01JD8X3M7Q9V2K4T6W8Y0Z1A2B`,
    `fields ${EVENT_COLUMNS}, ${field('session.sequence')}, ${field('session.endReason')}`,
    `| filter ${field('session.sessionId')} = "${PLACEHOLDER.sessionId}"`,
    '| sort @timestamp asc',
    '| limit 10000',
  ),
};

/** Every query custody saves, in the order the Saved queries list shows them. */
export const AUDIT_QUERIES: readonly AuditQuery[] = [
  EVERYTHING_A_PRINCIPAL_RAN,
  EVERY_EXECUTION_OF_CODE,
  DENIALS,
  DENIALS_BY_REASON,
  LATEST_EXECUTIONS,
  KILL_SWITCH_ACTIONS,
  ACTIVE_SESSIONS,
  SESSION_ENDS,
  SESSION_LENGTHS_BY_REASON,
  EVERYTHING_IN_A_SESSION,
  LAST_VERIFICATION,
];

export interface CustodyQueriesProps {
  readonly auditLogGroup: logs.ILogGroup;
  /** Folder of the saved queries. @default - the stack name */
  readonly folder?: string;
}

/** The saved Logs Insights queries, one `AWS::Logs::QueryDefinition` each, scoped to the audit log group. */
export class CustodyQueries extends Construct {
  /** Saved query by `AuditQuery.id`. */
  readonly definitions: ReadonlyMap<string, logs.CfnQueryDefinition>;

  constructor(scope: Construct, id: string, props: CustodyQueriesProps) {
    super(scope, id);
    const folder = props.folder ?? Stack.of(this).stackName;
    const definitions = new Map<string, logs.CfnQueryDefinition>();
    for (const q of AUDIT_QUERIES) {
      definitions.set(
        q.id,
        new logs.CfnQueryDefinition(this, q.id, {
          name: `${folder}/${q.title}`,
          queryString: q.query,
          logGroupNames: [props.auditLogGroup.logGroupName],
        }),
      );
    }
    this.definitions = definitions;
  }
}
