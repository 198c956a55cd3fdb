/**
 * The custody stack: a thin stack around `CustodyConstruct`, with the URLs an operator opens (the
 * construct adds the outputs the custody CLI reads).
 * Environment-agnostic (no account or region at synth), so `cdk synth` needs no credentials.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { type AlarmNotificationSettings, alarmTopicOf } from './alarm-notifications.ts';
import { CustodyConstruct, type CustodyConstructProps } from './custody-construct.ts';

export interface CustodyStackProps extends StackProps, CustodyConstructProps, AlarmNotificationSettings {}

export class CustodyStack extends Stack {
  readonly custody: CustodyConstruct;

  constructor(scope: Construct, id: string, props: CustodyStackProps) {
    super(scope, id, props);
    const alarmTopic = props.alarmTopic ?? alarmTopicOf(this, props);
    this.custody = new CustodyConstruct(this, 'Custody', { ...props, ...(alarmTopic ? { alarmTopic } : {}) });

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the signed API (append v1/executions)',
      value: this.custody.apiUrl,
    });
    // The construct adds the outputs the custody CLI reads (lib/stack-outputs.ts).
    new CfnOutput(this, 'DashboardUrl', {
      description: 'CloudWatch dashboard for compliance staff',
      value: this.custody.dashboardUrl,
    });
  }
}
