import { beforeAll, describe, expect, it } from 'vitest';
import { roleNameOutputKey } from '../../lambda/core/stack-outputs.ts';
import {
  auditTable,
  examplePolicy,
  onlyResource,
  referencedId,
  resourcesOfType,
  type Synthesized,
  synthCustody,
} from './synth.ts';

describe('CustodyStack', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthCustody();
  });

  it('is environment-agnostic, so synth needs no credentials', () => {
    expect(s.stack.environment).toBe('aws://unknown-account/unknown-region');
  });

  it('gives every log group a retention period', () => {
    const groups = resourcesOfType(s.json, 'AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThanOrEqual(8);
    for (const [id, group] of groups) {
      expect(group.Properties.RetentionInDays, id).toEqual(expect.any(Number));
    }
  });

  it('creates every Lambda function’s log group itself, so Lambda never creates one without retention', () => {
    const functions = resourcesOfType(s.json, 'AWS::Lambda::Function');
    expect(functions).toHaveLength(Object.keys(examplePolicy().profiles).length + 2);
    for (const [id, fn] of functions) {
      const logging = fn.Properties.LoggingConfig as { LogGroup: unknown; LogFormat: string };
      expect(s.json.Resources[referencedId(logging.LogGroup)]?.Type, id).toBe('AWS::Logs::LogGroup');
      expect(fn.Properties.Runtime, id).toBe('nodejs22.x');
    }
  });

  it('uses no AWS managed policy on any role but API Gateway’s account logging role', () => {
    const withManaged = resourcesOfType(s.json, 'AWS::IAM::Role').filter(
      ([, r]) => r.Properties.ManagedPolicyArns !== undefined,
    );
    expect(withManaged).toHaveLength(1);
    expect(JSON.stringify(withManaged[0]![1].Properties.ManagedPolicyArns)).toContain(
      'AmazonAPIGatewayPushToCloudWatchLogs',
    );
  });

  it('has a dashboard and outputs the API URL, the audit table, signing key and log group, and the dashboard URL', () => {
    const [dashboardId] = onlyResource(s.json, 'AWS::CloudWatch::Dashboard');
    const [tableId] = auditTable(s.json);
    const [signingKeyId] = resourcesOfType(s.json, 'AWS::KMS::Key').find(
      ([, key]) => key.Properties.KeySpec === 'ECC_NIST_P256',
    ) ?? [''];
    const [logGroupId] = resourcesOfType(s.json, 'AWS::Logs::LogGroup').find(([, group]) =>
      JSON.stringify(group.Properties.LogGroupName ?? '').includes('/audit'),
    ) ?? [''];
    const outputs = s.json.Outputs ?? {};
    const roleOutputs = Object.keys(examplePolicy().profiles).map(roleNameOutputKey);
    expect(roleOutputs.filter((k) => outputs[k] !== undefined)).toEqual(roleOutputs);
    expect(
      Object.keys(outputs)
        .filter((k) => !roleOutputs.includes(k))
        .sort(),
    ).toEqual(['ApiUrl', 'AuditLogGroupName', 'AuditSigningKeyArn', 'AuditTableName', 'DashboardUrl']);
    expect(outputs.AuditTableName?.Value).toEqual({ Ref: tableId });
    expect(outputs.AuditSigningKeyArn?.Value).toEqual({ 'Fn::GetAtt': [signingKeyId, 'Arn'] });
    expect(outputs.AuditLogGroupName?.Value).toEqual({ Ref: logGroupId });
    expect(JSON.stringify(outputs.DashboardUrl?.Value)).toContain(dashboardId);
    expect(JSON.stringify(outputs.ApiUrl?.Value)).toContain('execute-api');
  });

  it('refuses a policy without profiles, naming the prop', () => {
    const empty = examplePolicy();
    empty.profiles = {};
    expect(() => synthCustody({ props: { policy: empty } })).toThrow(/props\.policy declares no profiles/);
  });
});
