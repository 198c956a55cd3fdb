/**
 * The custody stack: a thin stack around `CustodyConstruct`, with the outputs an operator needs.
 * Environment-agnostic (no account or region at synth), so `cdk synth` needs no credentials.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { CustodyConstruct, type CustodyConstructProps } from './custody-construct.ts';

export interface CustodyStackProps extends StackProps, CustodyConstructProps {}

export class CustodyStack extends Stack {
  readonly custody: CustodyConstruct;

  constructor(scope: Construct, id: string, props: CustodyStackProps) {
    super(scope, id, props);
    this.custody = new CustodyConstruct(this, 'Custody', props);

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the signed API (append v1/executions)',
      value: this.custody.apiUrl,
    });
    new CfnOutput(this, 'AuditTableName', {
      description: 'DynamoDB table holding the audit records',
      value: this.custody.auditTable.tableName,
    });
    new CfnOutput(this, 'DashboardUrl', {
      description: 'CloudWatch dashboard for compliance staff',
      value: this.custody.dashboardUrl,
    });
  }
}
