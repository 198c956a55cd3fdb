/**
 * The custody stack: a thin stack around `CustodyConstruct`, with the outputs an operator needs.
 * Environment-agnostic (no account or region at synth), so `cdk synth` needs no credentials.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import {
  AUDIT_LOG_GROUP_OUTPUT,
  AUDIT_SIGNING_KEY_OUTPUT,
  AUDIT_TABLE_OUTPUT,
} from '../lambda/core/stack-outputs.ts';
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
    // `custody revoke --stack` and `custody audit verify --stack` read these three.
    new CfnOutput(this, AUDIT_TABLE_OUTPUT, {
      description: 'DynamoDB table holding the audit records',
      value: this.custody.auditTable.tableName,
    });
    new CfnOutput(this, AUDIT_SIGNING_KEY_OUTPUT, {
      description: 'KMS key signing the audit digests (verify them with its public key: kms GetPublicKey)',
      value: this.custody.signingKey.keyArn,
    });
    new CfnOutput(this, AUDIT_LOG_GROUP_OUTPUT, {
      description: 'CloudWatch log group holding every audit record, digest and verification as a JSON line',
      value: this.custody.auditLogGroup.logGroupName,
    });
    new CfnOutput(this, 'DashboardUrl', {
      description: 'CloudWatch dashboard for compliance staff',
      value: this.custody.dashboardUrl,
    });
  }
}
