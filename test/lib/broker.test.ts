import { beforeAll, describe, expect, it } from 'vitest';
import { DEPLOYMENT_FILE, parseDeploymentFile, resolveDeployment } from '../../lambda/core/deployment.ts';
import { BROKER_ENV } from '../../lambda/core/env-names.ts';
import { METRIC_NAMESPACE, METRIC_SERVICE } from '../../lambda/core/metrics.ts';
import { brokerTimeout } from '../../lib/broker.ts';
import { executorTimeout } from '../../lib/executors.ts';
import { CfnResolver, WORLD, WORLD_STACK_UUID } from './cfn-resolve.ts';
import {
  actionsOf,
  allowedActionsOfRole,
  auditKey,
  auditLogGroup,
  auditTable,
  brokerFunction,
  type CfnResource,
  examplePolicy,
  executionRole,
  executorFunction,
  identityStatementsOfRole,
  referencedId,
  roleOfFunction,
  type Synthesized,
  synthCustody,
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
    const [tableId] = auditTable(s.json);
    const [logGroupId] = auditLogGroup(s.json);
    const env = (broker.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).toMatchObject({
      CUSTODY_AUDIT_TABLE: { Ref: tableId },
      CUSTODY_AUDIT_LOG_GROUP: { Ref: logGroupId },
      CUSTODY_POLICY_FILE: 'policy.json',
      POWERTOOLS_SERVICE_NAME: METRIC_SERVICE,
      POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
    });
  });

  it('is told no profile ARN in its environment: they come from deployment.json, names fixed at synth', () => {
    const env = (broker.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env.CUSTODY_DEPLOYMENT).toBeUndefined();
    expect(env).toMatchObject({
      [BROKER_ENV.account]: { Ref: 'AWS::AccountId' },
      [BROKER_ENV.partition]: { Ref: 'AWS::Partition' },
    });
    const file = s.stack.custody.brokerDeployment;
    expect(Object.keys(file.profiles).sort()).toEqual(Object.keys(policy.profiles).sort());
    expect(file.profiles.reports?.secrets).toEqual({ REPORT_API_TOKEN: 'custody/reports/api-token' });
    // The broker's own reader, with the names as deployed, finds each role and executor.
    const resolver = new CfnResolver(s.json);
    const where = { partition: 'aws', region: WORLD.region, account: WORLD.account };
    const deployment = resolveDeployment(parseDeploymentFile(JSON.stringify(file), DEPLOYMENT_FILE), where);
    for (const name of Object.keys(policy.profiles)) {
      const [, role] = executionRole(s.json, name);
      const [, executor] = executorFunction(s.json, name);
      const roleName = String(resolver.resolve(role.Properties.RoleName));
      const functionName = String(resolver.resolve(executor.Properties.FunctionName));
      expect(deployment.profiles[name]?.roleArn).toBe(`arn:aws:iam::${WORLD.account}:role/${roleName}`);
      expect(deployment.profiles[name]?.executorArn).toBe(
        `arn:aws:lambda:${WORLD.region}:${WORLD.account}:function:${functionName}`,
      );
      // Role names are account-wide: the region keeps two regions' stacks apart.
      expect(roleName).toContain(`-${WORLD.region}-${name}`);
    }
  });

  it('encrypts its log group (pending audit records) with the audit key, which names the group', () => {
    const resolver = new CfnResolver(s.json);
    const groupId = referencedId((broker.Properties.LoggingConfig as { LogGroup: unknown }).LogGroup);
    const group = s.json.Resources[groupId]!;
    const [auditKeyId, auditKeyResource] = auditKey(s.json);
    expect(group.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [auditKeyId, 'Arn'] });
    expect(resolver.resolve(group.Properties.LogGroupName)).toBe(
      `/custody/Custody/broker-${WORLD_STACK_UUID}`,
    );
    expect(group.DependsOn).toContain(auditKeyId);
    const statements = (
      auditKeyResource.Properties.KeyPolicy as { Statement: Array<Record<string, unknown>> }
    ).Statement;
    const logs = statements.find((st) => st.Sid === 'CloudWatchLogsEncryptsTheBrokerLogGroup');
    expect(resolver.resolve(logs?.Principal)).toEqual({ Service: `logs.${WORLD.region}.amazonaws.com` });
    expect(resolver.resolve(logs?.Condition)).toEqual({
      ArnEquals: {
        'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:${WORLD.region}:${WORLD.account}:log-group:/custody/Custody/broker-${WORLD_STACK_UUID}`,
      },
    });
  });

  it('may assume the execution roles, write the audit trail, keep sessions and its own logs, and nothing else', () => {
    expect(allowedActionsOfRole(s.json, brokerRoleId)).toEqual(
      [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'kms:Decrypt',
        'kms:Encrypt',
        'kms:GenerateDataKey*',
        'kms:ReEncrypt*',
        // Sessions (lib/sessions.ts): the session table, its key through DynamoDB, data keys bound
        // to a session, and deleting state (test/lib/sessions.test.ts checks each's conditions).
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:Scan',
        'dynamodb:UpdateItem',
        'kms:Decrypt',
        'kms:DescribeKey',
        'kms:Encrypt',
        'kms:GenerateDataKey*',
        'kms:ReEncrypt*',
        'kms:Decrypt',
        'kms:GenerateDataKey',
        's3:DeleteObject',
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
