import { beforeAll, describe, expect, it } from 'vitest';
import { parseDeployment } from '../../lambda/broker/config.ts';
import { METRIC_NAMESPACE, METRIC_SERVICE } from '../../lambda/core/metrics.ts';
import { brokerTimeout } from '../../lib/broker.ts';
import { executorTimeout } from '../../lib/executors.ts';
import { CfnResolver } from './cfn-resolve.ts';
import {
  actionsOf,
  allowedActionsOfRole,
  brokerFunction,
  type CfnResource,
  examplePolicy,
  executionRole,
  executorFunction,
  identityStatementsOfRole,
  onlyResource,
  referencedId,
  roleOfFunction,
  type Synthesized,
  synthCustody,
  theResource,
} from './synth.ts';

const policy = examplePolicy();

describe('CustodyBroker', () => {
  let s: Synthesized;
  let broker: CfnResource;
  let brokerRoleId: string;
  beforeAll(() => {
    s = synthCustody();
    [, broker] = brokerFunction(s.json);
    [brokerRoleId] = roleOfFunction(s.json, broker);
  });

  it('runs outside the VPC, on the pinned runtime, traced', () => {
    expect(broker.Properties.VpcConfig).toBeUndefined();
    expect(broker.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['x86_64'],
      TracingConfig: { Mode: 'Active' },
      Handler: 'index.handler',
    });
  });

  it('outlasts the slowest executor', () => {
    const slowest = Math.max(...Object.values(policy.profiles).map((p) => executorTimeout(p).toSeconds()));
    expect(broker.Properties.Timeout as number).toBeGreaterThan(slowest);
    expect(brokerTimeout([]).toSeconds()).toBeGreaterThan(0);
  });

  it('is told the audit table, the audit log group, the policy file and the metric names', () => {
    const [tableId] = onlyResource(s.json, 'AWS::DynamoDB::Table');
    const [logGroupId] = theResource(s.json, 'AWS::Logs::LogGroup', (p) => p.KmsKeyId !== undefined);
    const env = (broker.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).toMatchObject({
      CUSTODY_AUDIT_TABLE: { Ref: tableId },
      CUSTODY_AUDIT_LOG_GROUP: { Ref: logGroupId },
      CUSTODY_POLICY_FILE: 'policy.json',
      POWERTOOLS_SERVICE_NAME: METRIC_SERVICE,
      POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
    });
  });

  it('is told each profile’s role, executor and secret names in CUSTODY_DEPLOYMENT', () => {
    const env = (broker.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    // Stack.toJsonString yields a Fn::Join of literal JSON pieces and tokens; render the tokens
    // as `<logicalId.Attr>` to read it as one JSON document.
    const parts = (env.CUSTODY_DEPLOYMENT as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
    const rendered = parts.map((p) => (typeof p === 'string' ? p : `<${referencedId(p)}>`)).join('');
    const deployment = JSON.parse(rendered) as {
      profiles: Record<string, { roleArn: string; executorArn: string; secrets: Record<string, string> }>;
    };
    expect(Object.keys(deployment.profiles).sort()).toEqual(Object.keys(policy.profiles).sort());
    for (const [name, profile] of Object.entries(policy.profiles)) {
      const [roleId] = executionRole(s.json, name);
      const [executorId] = executorFunction(s.json, name);
      expect(deployment.profiles[name]).toEqual({
        roleArn: `<${roleId}>`,
        executorArn: `<${executorId}>`,
        secrets: Object.fromEntries(profile.secrets.map((x) => [x.variable, x.secretName])),
      });
    }
  });

  it('is told a CUSTODY_DEPLOYMENT the broker’s own config parser accepts', () => {
    const env = (broker.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const resolved = new CfnResolver(s.json).resolve(env.CUSTODY_DEPLOYMENT) as string;
    const deployment = parseDeployment(resolved);
    expect(Object.keys(deployment.profiles).sort()).toEqual(Object.keys(policy.profiles).sort());
    expect(deployment.profiles.reports?.secrets).toEqual({ REPORT_API_TOKEN: 'custody/reports/api-token' });
    expect(deployment.profiles.sandbox?.executorArn).toMatch(/^arn:aws:lambda:/);
  });

  it('may assume the execution roles, write the audit trail and its own logs, and nothing else', () => {
    expect(allowedActionsOfRole(s.json, brokerRoleId)).toEqual(
      [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'kms:Decrypt',
        'kms:Encrypt',
        'kms:GenerateDataKey*',
        'kms:ReEncrypt*',
        'logs:CreateLogStream',
        'logs:CreateLogStream',
        'logs:DescribeLogStreams',
        'logs:PutLogEvents',
        'logs:PutLogEvents',
        'sts:AssumeRole',
        'sts:SetSourceIdentity',
        'sts:TagSession',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
  });

  it('has no Lambda invoke, no secret read and no wildcard action', () => {
    const actions = allowedActionsOfRole(s.json, brokerRoleId);
    expect(actions.filter((a) => a.startsWith('lambda:') || a.startsWith('secretsmanager:'))).toEqual([]);
    expect(actions.filter((a) => a === '*' || a.endsWith(':*'))).toEqual([]);
  });

  it('may assume exactly the execution roles', () => {
    const sts = identityStatementsOfRole(s.json, brokerRoleId).find((st) =>
      actionsOf(st).includes('sts:AssumeRole'),
    );
    const executionRoleIds = Object.keys(policy.profiles).map((name) => executionRole(s.json, name)[0]);
    expect([sts?.Resource].flat().map(referencedId).sort()).toEqual(executionRoleIds.sort());
  });
});
