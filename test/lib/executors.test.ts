import { beforeAll, describe, expect, it } from 'vitest';
import { executorTimeout } from '../../lib/executors.ts';
import {
  allowedActionsOfRole,
  examplePolicy,
  executorFunction,
  identityStatementsOfRole,
  referencedId,
  roleOfFunction,
  type Synthesized,
  synthCustody,
} from './synth.ts';

const policy = examplePolicy();
const profileNames = Object.keys(policy.profiles);

describe('ProfileExecutor', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthCustody({ props: { executorReservedConcurrency: 7 } });
  });

  it('creates one executor per profile, each with its own role and security group', () => {
    const roles = new Set<string>();
    const groups = new Set<string>();
    for (const name of profileNames) {
      const [, fn] = executorFunction(s.json, name);
      roles.add(referencedId(fn.Properties.Role));
      const vpcConfig = fn.Properties.VpcConfig as { SecurityGroupIds: unknown[] };
      for (const g of vpcConfig.SecurityGroupIds) groups.add(referencedId(g));
    }
    expect(roles.size).toBe(profileNames.length);
    expect(groups.size).toBe(profileNames.length);
  });

  it('runs in the isolated subnets, behind a security group with no ingress and no egress', () => {
    for (const name of profileNames) {
      const [, fn] = executorFunction(s.json, name);
      const vpcConfig = fn.Properties.VpcConfig as { SubnetIds: unknown[]; SecurityGroupIds: unknown[] };
      for (const subnet of vpcConfig.SubnetIds) {
        const tags = s.json.Resources[referencedId(subnet)]?.Properties.Tags;
        expect(tags).toContainEqual({ Key: 'aws-cdk:subnet-type', Value: 'Isolated' });
      }
      const [groupRef] = vpcConfig.SecurityGroupIds;
      const group = s.json.Resources[referencedId(groupRef)]!;
      expect(group.Type).toBe('AWS::EC2::SecurityGroup');
      expect(group.Properties.SecurityGroupIngress).toBeUndefined();
      // CDK's "no egress": a single rule that matches no packet (an empty list would let EC2
      // add allow-all again).
      expect(group.Properties.SecurityGroupEgress).toEqual([
        {
          CidrIp: '255.255.255.255/32',
          Description: 'Disallow all traffic',
          FromPort: 252,
          IpProtocol: 'icmp',
          ToPort: 86,
        },
      ]);
    }
    s.template.resourceCountIs('AWS::EC2::SecurityGroupEgress', 0);
    s.template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  it('takes runtime, memory and timeout from the profile, on x86_64', () => {
    for (const [name, profile] of Object.entries(policy.profiles)) {
      const [, fn] = executorFunction(s.json, name);
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['x86_64'],
        MemorySize: profile.memoryMiB,
        Timeout: executorTimeout(profile).toSeconds(),
      });
      expect(fn.Properties.Timeout as number).toBeGreaterThan(profile.timeoutMs / 1000);
    }
  });

  it('reserves the configured concurrency for every executor', () => {
    for (const name of profileNames) {
      const [, fn] = executorFunction(s.json, name);
      expect(fn.Properties.ReservedConcurrentExecutions).toBe(7);
    }
  });

  it('lets a profile reserve its own concurrency over the setting', () => {
    const withProfileSetting = examplePolicy();
    withProfileSetting.profiles.sandbox!.reservedConcurrency = 3;
    const { json } = synthCustody({ props: { policy: withProfileSetting, executorReservedConcurrency: 7 } });
    const [, sandbox] = executorFunction(json, 'sandbox');
    const [, reports] = executorFunction(json, 'reports');
    expect(sandbox.Properties.ReservedConcurrentExecutions).toBe(3);
    expect(reports.Properties.ReservedConcurrentExecutions).toBe(7);
  });

  it('gives the executor role only VPC networking and its own log group', () => {
    for (const name of profileNames) {
      const [, fn] = executorFunction(s.json, name);
      const [roleId, role] = roleOfFunction(s.json, fn);
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(allowedActionsOfRole(s.json, roleId)).toEqual(
        [
          'ec2:AssignPrivateIpAddresses',
          'ec2:CreateNetworkInterface',
          'ec2:DeleteNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:UnassignPrivateIpAddresses',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
        ].sort(),
      );
      const logging = fn.Properties.LoggingConfig as { LogGroup: unknown };
      const logStatement = identityStatementsOfRole(s.json, roleId).find((st) =>
        [st.Action].flat().includes('logs:PutLogEvents'),
      );
      expect(referencedId(logStatement?.Resource)).toBe(referencedId(logging.LogGroup));
    }
  });

  it('has no tracing, so its role needs no xray permission', () => {
    for (const name of profileNames) {
      const [, fn] = executorFunction(s.json, name);
      expect(fn.Properties.TracingConfig).toBeUndefined();
    }
  });
});

describe('executorTimeout', () => {
  it("adds the margin to the profile deadline and caps at Lambda's 900 s", () => {
    expect(executorTimeout({ timeoutMs: 10_000 }).toSeconds()).toBe(25);
    expect(executorTimeout({ timeoutMs: 10_001 }).toSeconds()).toBe(26);
    expect(executorTimeout({ timeoutMs: 300_000 }).toSeconds()).toBe(315);
    expect(executorTimeout({ timeoutMs: 899_000 }).toSeconds()).toBe(900);
  });
});
