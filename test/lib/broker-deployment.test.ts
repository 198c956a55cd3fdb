import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { executionRoleName } from '../../lambda/core/deployment.ts';
import type { Policy } from '../../lambda/core/policy.ts';
import {
  environmentMaxBytes,
  IAM_ROLE_NAME_LIMIT,
  LAMBDA_ENVIRONMENT_LIMIT_BYTES,
  maxDeployedLength,
  nameProfileResources,
} from '../../lib/broker-deployment.ts';
import { CfnResolver } from './cfn-resolve.ts';
import { examplePolicy, executionRole, executorFunction, synthCustody } from './synth.ts';

/** The example policy with `count` profiles, each with a secret and a 32-character name. */
function policyWithProfiles(count: number): Policy {
  const base = examplePolicy();
  const reports = base.profiles.reports!;
  const profiles: Policy['profiles'] = {};
  for (let i = 0; i < count; i++) {
    const name = `profile-with-a-long-name-${String(i).padStart(7, '0')}`;
    profiles[name] = {
      ...reports,
      secrets: [{ variable: 'REPORT_API_TOKEN', secretName: `custody/${name}/api-token` }],
    };
  }
  const principals = base.principals.map((p) => ({
    ...p,
    grants: Object.keys(profiles).map((profile) => ({ ...p.grants[0]!, profile })),
  }));
  return { ...base, profiles, principals };
}

describe('The broker’s deployment description', () => {
  it('deploys 40 profiles: the broker’s environment stays under 4 KB at its longest', () => {
    const policy = policyWithProfiles(40);
    expect(Object.keys(policy.profiles)[0]).toHaveLength(32);
    const s = synthCustody({ props: { policy } });
    expect(() => s.app.synth({ force: true })).not.toThrow();
    const bytes = environmentMaxBytes(s.stack.custody.brokerFunction);
    expect(bytes).toBeLessThan(LAMBDA_ENVIRONMENT_LIMIT_BYTES / 2);
    expect(Object.keys(s.stack.custody.brokerDeployment.profiles)).toHaveLength(40);
    // Every role name fits IAM's 64 characters in the longest region.
    const resolver = new CfnResolver(s.json);
    for (const name of Object.keys(policy.profiles)) {
      const [, role] = executionRole(s.json, name);
      const [, executor] = executorFunction(s.json, name);
      const longest = String(resolver.resolve(role.Properties.RoleName)).replace(
        'eu-west-1',
        'ap-southeast-4',
      );
      expect(longest.length).toBeLessThanOrEqual(IAM_ROLE_NAME_LIMIT);
      expect(String(executor.Properties.FunctionName).endsWith(name)).toBe(true);
    }
  });

  it('stops synth, naming Lambda’s 4 KB limit, when the environment could pass it', () => {
    const s = synthCustody();
    s.stack.custody.brokerFunction.addEnvironment('EXTRA', 'x'.repeat(3_000));
    // A table name from another stack: a reference, taken at its longest.
    s.stack.custody.brokerFunction.addEnvironment('OTHER_TABLE', s.stack.custody.auditTable.tableArn);
    expect(() => s.app.synth({ force: true })).toThrow(/past Lambda's limit of 4096 bytes \(4 KB\)/);
  });

  it('takes each deploy-time value at its longest', () => {
    expect(maxDeployedLength({ Ref: 'AWS::AccountId' })).toBe(12);
    expect(maxDeployedLength({ Ref: 'AWS::Region' })).toBe(14);
    expect(maxDeployedLength({ 'Fn::Join': ['-', ['ab', { Ref: 'AWS::Region' }]] })).toBe(2 + 1 + 14);
    expect(maxDeployedLength({ 'Fn::GetAtt': ['Table', 'Arn'] })).toBe(512);
    expect(maxDeployedLength({ Ref: 'SomeLogGroup' })).toBe(512);
    // A resource of a type whose names the service bounds: that bound.
    const types = new Map([
      ['Table', 'AWS::DynamoDB::Table'],
      ['Bucket', 'AWS::S3::Bucket'],
      ['Key', 'AWS::KMS::Key'],
    ]);
    expect(maxDeployedLength({ Ref: 'Table' }, types)).toBe(255);
    expect(maxDeployedLength({ 'Fn::GetAtt': ['Table', 'Arn'] }, types)).toBe(512);
    expect(maxDeployedLength({ Ref: 'Bucket' }, types)).toBe(63);
    expect(maxDeployedLength({ Ref: 'Key' }, types)).toBe(40);
    const longestKeyArn = `arn:aws-us-gov:kms:ap-southeast-4:111122223333:key/mrk-${'0'.repeat(36)}`;
    expect(maxDeployedLength({ 'Fn::GetAtt': ['Key', 'Arn'] }, types)).toBe(longestKeyArn.length);
  });

  it('stops synth, naming IAM’s limit, when a role name could pass 64 characters', () => {
    const s = synthCustody();
    const executor = lambda.Function.fromFunctionName(s.stack, 'Other', 'other');
    const role = s.stack.custody.executionRoles.get('sandbox')!;
    const file = { ...s.stack.custody.brokerDeployment, roleNamePrefix: 'x'.repeat(30) };
    expect(executionRoleName(file, 'eu-west-1', 'sandbox').length).toBeLessThan(64);
    expect(() => nameProfileResources(file, 'sandbox-with-a-longer-name', executor, role)).toThrow(
      /past IAM's limit of 64 for role names/,
    );
  });
});
