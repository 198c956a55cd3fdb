/**
 * The alarms an on-call person answers, each with a description that says what happened and
 * what to do (docs/operations.md has the longer runbook). All read custody's EMF metrics
 * (`lib/custody-metrics.ts`); actions go to an SNS topic if one is given.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { Metric } from '../lambda/core/metrics.ts';
import { custodyMetric, sumOverDimension } from './custody-metrics.ts';

export interface CustodyAlarmsProps {
  /** Where alarm and OK notifications go. @default - no actions (the alarms still show on the dashboard) */
  readonly alarmTopic?: sns.ITopic;
  /** How often the digester runs (and verifies); the verification alarm waits three runs. */
  readonly digestInterval: Duration;
  /** Denials in 5 minutes that count as a spike. @default 20 */
  readonly denialSpikeThreshold?: number;
  /** Sandbox limit hits (time, memory, output) in 5 minutes that alarm. @default 10 */
  readonly sandboxLimitHitThreshold?: number;
  /** Dependency failures (STS, Secrets Manager, executor, policy) in 5 minutes that alarm. @default 3 */
  readonly dependencyFailureThreshold?: number;
}

const FIVE_MINUTES = Duration.minutes(5);
const RUNBOOK = 'Runbook: docs/operations.md';

/** The verification alarm's period: three digester runs, at least 15 minutes, whole minutes. */
export function verificationPeriod(digestInterval: Duration): Duration {
  const minutes = Math.max(15, Math.ceil((digestInterval.toSeconds() * 3) / 60));
  return Duration.minutes(minutes);
}

export class CustodyAlarms extends Construct {
  readonly denialSpike: cloudwatch.Alarm;
  readonly hardcodedCredential: cloudwatch.Alarm;
  readonly sandboxLimitHits: cloudwatch.Alarm;
  readonly auditWriteFailures: cloudwatch.Alarm;
  readonly auditVerificationFailed: cloudwatch.Alarm;
  readonly dependencyFailures: cloudwatch.Alarm;
  /** Every alarm above, in dashboard order. */
  readonly all: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: CustodyAlarmsProps) {
    super(scope, id);
    const denialSpikeThreshold = props.denialSpikeThreshold ?? 20;
    const sandboxLimitHitThreshold = props.sandboxLimitHitThreshold ?? 10;
    const dependencyFailureThreshold = props.dependencyFailureThreshold ?? 3;
    for (const [name, value] of Object.entries({
      denialSpikeThreshold,
      sandboxLimitHitThreshold,
      dependencyFailureThreshold,
    })) {
      if (!Number.isInteger(value) || value < 1) {
        throw new Error(`CustodyAlarms: props.${name} must be a whole number of at least 1, got ${value}`);
      }
    }

    this.auditVerificationFailed = new cloudwatch.Alarm(this, 'AuditVerificationFailed', {
      alarmDescription: [
        'The audit trail failed verification, or the digester stopped verifying it.',
        'Metric 0: a digest or record was modified, deleted, inserted or reordered, or a signature is invalid;',
        'or reconciliation found a record in the table that differs from its audit log line (AuditReconcileConflicts;',
        'the digester log line "custody audit reconcile" names it).',
        'No data: the digester has not run (check its Errors metric, its log group and its dead-letter queue).',
        'Do: run `custody audit verify` to name the first bad record; the "Last audit verification" query',
        'shows the problem the digester found. Preserve the table (PITR) and the audit log group; treat it as an incident.',
        RUNBOOK,
      ].join(' '),
      metric: custodyMetric(Metric.AuditVerificationIntact, {
        statistic: 'Minimum',
        period: verificationPeriod(props.digestInterval),
      }),
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    this.auditWriteFailures = new cloudwatch.Alarm(this, 'AuditWriteFailures', {
      alarmDescription: [
        'custody could not write audit records to the DynamoDB table or the audit log group.',
        'A request whose started record failed was refused (503, nothing ran). A final record the table refused',
        'stands in the audit log (callers were told auditPending); one refused by both is in the broker log group',
        'as "custody audit record pending". Do: check DynamoDB throttling and errors, the audit KMS key and the',
        'log group; then copy pending records into the table from those lines. ' + RUNBOOK,
      ].join(' '),
      metric: custodyMetric(Metric.AuditWriteFailures, { period: FIVE_MINUTES }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.hardcodedCredential = new cloudwatch.Alarm(this, 'HardcodedCredentialAttempt', {
      alarmDescription: [
        'A caller sent code containing a hard-coded credential (access key, private key, token); it was refused',
        'and never stored. Do: run the "All denials" saved query (reason HARDCODED_CREDENTIAL) to find the caller,',
        'treat the credential as leaked (rotate or deactivate it), and tell the agent owner. ' + RUNBOOK,
      ].join(' '),
      metric: custodyMetric(Metric.HardcodedCredentialAttempts, { period: FIVE_MINUTES }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.denialSpike = new cloudwatch.Alarm(this, 'DenialSpike', {
      alarmDescription: [
        `${denialSpikeThreshold} or more requests were denied in 5 minutes.`,
        'Do: look at "Denials by reason" and "Most refused callers" on the dashboard (or the "Denials by reason',
        'and caller" query). Many NO_GRANT / UNKNOWN_PRINCIPAL from one identity suggest probing or a stolen',
        'credential: suspend it with `custody revoke`. Many from a legitimate agent suggest a policy change',
        'it was not told about. ' + RUNBOOK,
      ].join(' '),
      metric: custodyMetric(Metric.Denials, { period: FIVE_MINUTES }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      threshold: denialSpikeThreshold,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.sandboxLimitHits = new cloudwatch.Alarm(this, 'SandboxLimitHits', {
      alarmDescription: [
        `${sandboxLimitHitThreshold} or more executions hit a sandbox limit (timed_out, out_of_memory,`,
        'output_limit) in 5 minutes. Do: see "Sandbox limit hits by status" on the dashboard and the latest',
        'executions table for the callers; a loop of runaway code from one agent is a misbehaving or hijacked',
        'agent (revoke it if needed); steady legitimate hits mean the profile limits are too tight. ' +
          RUNBOOK,
      ].join(' '),
      metric: sumOverDimension(Metric.SandboxLimitHits, FIVE_MINUTES, 'Sandbox limit hits (all statuses)'),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      threshold: sandboxLimitHitThreshold,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.dependencyFailures = new cloudwatch.Alarm(this, 'DependencyFailures', {
      alarmDescription: [
        `${dependencyFailureThreshold} or more executions failed in 5 minutes because a dependency failed`,
        '(credentials = STS AssumeRole, secrets = Secrets Manager, executor = the executor Lambda, revocation =',
        'the kill-switch state, policy = a profile not fully deployed). Nothing ran without its audit record. Do: see "Dependency failures by',
        "dependency\" on the dashboard, then that service's health, throttling and the execution role's trust",
        'policy; for policy, redeploy the stack. ' + RUNBOOK,
      ].join(' '),
      metric: sumOverDimension(
        Metric.DependencyFailures,
        FIVE_MINUTES,
        'Dependency failures (all dependencies)',
      ),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      threshold: dependencyFailureThreshold,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.all = [
      this.auditVerificationFailed,
      this.auditWriteFailures,
      this.hardcodedCredential,
      this.denialSpike,
      this.sandboxLimitHits,
      this.dependencyFailures,
    ];

    if (props.alarmTopic) {
      const action = new cloudwatchActions.SnsAction(props.alarmTopic);
      for (const alarm of this.all) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }
}
