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

/** Every query custody saves, in the order the Saved queries list shows them. */
export const AUDIT_QUERIES: readonly AuditQuery[] = [
  EVERYTHING_A_PRINCIPAL_RAN,
  EVERY_EXECUTION_OF_CODE,
  DENIALS,
  DENIALS_BY_REASON,
  LATEST_EXECUTIONS,
  KILL_SWITCH_ACTIONS,
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
