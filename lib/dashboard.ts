/**
 * The compliance dashboard. This is its frame: the resources it reads are props, so widgets can be
 * added (the full content — executions, denials, sandbox limits, audit integrity — comes with the
 * compliance work) without changing how the construct is wired.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface CustodyDashboardProps {
  readonly api: apigateway.RestApi;
  readonly broker: lambda.IFunction;
  /** Executor by profile name. */
  readonly executors: ReadonlyMap<string, lambda.IFunction>;
  readonly digester: lambda.IFunction;
  readonly auditTable: dynamodb.ITable;
  readonly auditLogGroup: logs.ILogGroup;
}

export class CustodyDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: CustodyDashboardProps) {
    super(scope, id);
    const period = Duration.minutes(5);

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.days(1),
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: [
          '# custody',
          `Audit table \`${props.auditTable.tableName}\`, audit log group \`${props.auditLogGroup.logGroupName}\`.`,
        ].join('\n\n'),
        width: 24,
        height: 2,
      }),
    );
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
