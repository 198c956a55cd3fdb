/**
 * The compliance dashboard: who ran what and how it went, read from custody's EMF metrics, the
 * Contributor Insights rules and the audit log group — then the platform's own health (API,
 * broker, executors, digester). docs/operations.md explains each widget.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { Metric, PHASES } from '../lambda/core/metrics.ts';
import type { CustodyAlarms } from './alarms.ts';
import {
  type AuditContributorInsights,
  ContributorInsightsWidget,
  TOP_CALLERS,
  TOP_DENIED_CALLERS,
  TOP_PROFILES,
} from './contributor-insights.ts';
import { custodyMetric, phaseLatency, searchByDimension } from './custody-metrics.ts';
import { ACTIVE_SESSIONS, LAST_VERIFICATION, LATEST_EXECUTIONS } from './queries.ts';

export interface CustodyDashboardProps {
  readonly api: apigateway.RestApi;
  readonly broker: lambda.IFunction;
  /** Executor by profile name. */
  readonly executors: ReadonlyMap<string, lambda.IFunction>;
  readonly digester: lambda.IFunction;
  readonly auditTable: dynamodb.ITable;
  readonly auditLogGroup: logs.ILogGroup;
  /** The alarms whose state the dashboard shows (and whose verification metric it charts). */
  readonly alarms: CustodyAlarms;
  /** The top-callers / top-profiles rules on the audit log group. */
  readonly contributorInsights: AuditContributorInsights;
}

export class CustodyDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: CustodyDashboardProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const logGroupNames = [props.auditLogGroup.logGroupName];
    const rules = props.contributorInsights;

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.days(1),
    });

    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: [
          '# custody',
          `Audit table \`${props.auditTable.tableName}\`, audit log group \`${props.auditLogGroup.logGroupName}\`. ` +
            'Saved queries (Logs Insights → Saved queries) answer "everything principal X ran", "every execution ' +
            'of code digest D" and "all denials". Prove the trail is intact with `custody audit verify`. ' +
            'What each widget and alarm means: docs/operations.md.',
        ].join('\n\n'),
        width: 24,
        height: 2,
      }),
    );

    // Who ran what.
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Executions and denials',
        left: [
          custodyMetric(Metric.Executions, { period, label: 'Executions' }),
          custodyMetric(Metric.Denials, { period, label: 'Denials' }),
        ],
        leftYAxis: { min: 0, showUnits: false },
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Denials by reason',
        left: [searchByDimension(Metric.Denials, 'Sum', period)],
        leftYAxis: { min: 0, showUnits: false },
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new ContributorInsightsWidget({ title: TOP_CALLERS.title, rule: rules.ruleFor(TOP_CALLERS), width: 8 }),
      new ContributorInsightsWidget({
        title: TOP_PROFILES.title,
        rule: rules.ruleFor(TOP_PROFILES),
        width: 8,
      }),
      new ContributorInsightsWidget({
        title: TOP_DENIED_CALLERS.title,
        rule: rules.ruleFor(TOP_DENIED_CALLERS),
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.LogQueryWidget({
        title: LATEST_EXECUTIONS.title,
        logGroupNames,
        queryString: LATEST_EXECUTIONS.query,
        view: cloudwatch.LogQueryVisualizationType.TABLE,
        width: 24,
        height: 8,
      }),
    );

    // Sessions (#15): how many, how they ended, how long they lasted, which are open now.
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Sessions started and ended',
        left: [
          custodyMetric(Metric.SessionsStarted, { period, label: 'started' }),
          custodyMetric(Metric.SessionsEnded, { period, label: 'ended' }),
        ],
        leftYAxis: { min: 0, showUnits: false },
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Session ends by reason',
        left: [searchByDimension(Metric.SessionsEnded, 'Sum', period)],
        leftYAxis: { min: 0, showUnits: false },
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Session length (s): p50, p99, longest',
        left: [
          custodyMetric(Metric.SessionSeconds, { period, statistic: 'p50', label: 'p50' }),
          custodyMetric(Metric.SessionSeconds, { period, statistic: 'p99', label: 'p99' }),
          custodyMetric(Metric.SessionSeconds, { period, statistic: 'Maximum', label: 'longest' }),
        ],
        leftYAxis: { min: 0, showUnits: false },
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.LogQueryWidget({
        title: ACTIVE_SESSIONS.title,
        logGroupNames,
        queryString: ACTIVE_SESSIONS.query,
        view: cloudwatch.LogQueryVisualizationType.TABLE,
        width: 24,
        height: 6,
      }),
    );

    // How it went.
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Latency p50 by phase (ms)',
        left: PHASES.map((phase) => phaseLatency(phase, 'p50', period)),
        leftYAxis: { min: 0, showUnits: false },
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Latency p99 by phase (ms)',
        left: PHASES.map((phase) => phaseLatency(phase, 'p99', period)),
        leftYAxis: { min: 0, showUnits: false },
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Sandbox limit hits by status',
        left: [searchByDimension(Metric.SandboxLimitHits, 'Sum', period)],
        right: [custodyMetric(Metric.UserCodeFailures, { period, label: 'user code failed' })],
        leftYAxis: { min: 0, showUnits: false },
        rightYAxis: { min: 0, showUnits: false },
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Dependency failures by dependency, and audit write failures',
        left: [searchByDimension(Metric.DependencyFailures, 'Sum', period)],
        right: [custodyMetric(Metric.AuditWriteFailures, { period, label: 'audit write failures' })],
        leftYAxis: { min: 0, showUnits: false },
        rightYAxis: { min: 0, showUnits: false },
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Secrets injected, redactions, hard-coded credential attempts',
        left: [
          custodyMetric(Metric.SecretsInjected, { period, label: 'secrets injected' }),
          custodyMetric(Metric.Redactions, { period, label: 'redactions' }),
          custodyMetric(Metric.HardcodedCredentialAttempts, {
            period,
            label: 'hard-coded credentials refused',
          }),
        ],
        leftYAxis: { min: 0, showUnits: false },
        width: 8,
      }),
    );

    // Is the record intact?
    this.dashboard.addWidgets(
      new cloudwatch.SingleValueWidget({
        title: 'Audit trail intact (1 yes, 0 tampered)',
        metrics: [props.alarms.auditVerificationFailed.metric],
        width: 6,
        height: 6,
      }),
      new cloudwatch.LogQueryWidget({
        title: LAST_VERIFICATION.title,
        logGroupNames,
        queryString: LAST_VERIFICATION.query,
        view: cloudwatch.LogQueryVisualizationType.TABLE,
        width: 12,
        height: 6,
      }),
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: [...props.alarms.all],
        width: 6,
        height: 6,
      }),
    );
    // Pending records the digester wrote back before digesting (docs/audit.md, Reconciliation).
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Audit reconciliation: records written back, conflicts, failures',
        left: [
          custodyMetric(Metric.AuditReconciled, { period, label: 'written back' }),
          custodyMetric(Metric.AuditReconcileConflicts, { period, label: 'conflicts' }),
          custodyMetric(Metric.AuditReconcileFailures, { period, label: 'failures' }),
        ],
        leftYAxis: { min: 0, showUnits: false },
        width: 12,
      }),
    );

    // The platform.
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API requests and errors',
        left: [
          props.api.metricCount({ period }),
          props.api.metricClientError({ period }),
          props.api.metricServerError({ period }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Broker invocations and errors',
        left: [props.broker.metricInvocations({ period }), props.broker.metricErrors({ period })],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Executor duration (p99) by profile',
        left: [...props.executors].map(([name, fn]) =>
          fn.metricDuration({ period, statistic: 'p99', label: name }),
        ),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Audit digester errors',
        left: [props.digester.metricErrors({ period })],
        width: 12,
      }),
    );
  }

  /** The dashboard in the CloudWatch console. */
  get url(): string {
    const region = Stack.of(this).region;
    return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${this.dashboard.dashboardName}`;
  }
}
