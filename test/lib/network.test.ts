import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { onlyResource, referencedId, resourcesOfType, type Synthesized, synthCustody } from './synth.ts';

describe('CustodyNetwork', () => {
  let byDefault: Synthesized;
  let withFirewall: Synthesized;
  beforeAll(() => {
    byDefault = synthCustody();
    withFirewall = synthCustody({ props: { dnsControl: 'dns-firewall' } });
  });

  it('has no internet gateway, no NAT gateway and no egress-only gateway', () => {
    for (const { template } of [byDefault, withFirewall]) {
      template.resourceCountIs('AWS::EC2::InternetGateway', 0);
      template.resourceCountIs('AWS::EC2::VPCGatewayAttachment', 0);
      template.resourceCountIs('AWS::EC2::NatGateway', 0);
      template.resourceCountIs('AWS::EC2::EgressOnlyInternetGateway', 0);
      template.resourceCountIs('AWS::EC2::EIP', 0);
    }
  });

  it('has only isolated subnets: no route at all and no public IPs', () => {
    const { json, template } = byDefault;
    template.resourceCountIs('AWS::EC2::Route', 0);
    const subnets = resourcesOfType(json, 'AWS::EC2::Subnet');
    expect(subnets.length).toBeGreaterThanOrEqual(2);
    for (const [, subnet] of subnets) {
      expect(subnet.Properties.MapPublicIpOnLaunch).toBe(false);
      expect(subnet.Properties.Tags).toContainEqual({ Key: 'aws-cdk:subnet-type', Value: 'Isolated' });
    }
  });

  it('logs all VPC traffic to a log group with a retention period', () => {
    const { json, template } = byDefault;
    const flowLog = onlyResource(json, 'AWS::EC2::FlowLog')[1].Properties;
    expect(flowLog.TrafficType).toBe('ALL');
    expect(flowLog.ResourceType).toBe('VPC');
    expect(referencedId(flowLog.ResourceId)).toBe(onlyResource(json, 'AWS::EC2::VPC')[0]);
    const logGroup = json.Resources[referencedId(flowLog.LogGroupName)];
    expect(logGroup?.Type).toBe('AWS::Logs::LogGroup');
    expect(logGroup?.Properties.RetentionInDays).toEqual(expect.any(Number));
    template.hasResourceProperties('AWS::EC2::FlowLog', { LogDestinationType: 'cloud-watch-logs' });
  });

  it('turns DNS support off by default, so the resolver cannot carry data out', () => {
    byDefault.template.hasResourceProperties('AWS::EC2::VPC', {
      EnableDnsSupport: false,
      EnableDnsHostnames: false,
    });
    byDefault.template.resourceCountIs('AWS::Route53Resolver::FirewallRuleGroupAssociation', 0);
  });

  it('in dns-firewall mode, blocks every domain with a rule group associated with the VPC', () => {
    const { json, template } = withFirewall;
    template.hasResourceProperties('AWS::EC2::VPC', { EnableDnsSupport: true });
    const [domainListId] = onlyResource(json, 'AWS::Route53Resolver::FirewallDomainList');
    template.hasResourceProperties('AWS::Route53Resolver::FirewallDomainList', { Domains: ['*'] });
    template.hasResourceProperties('AWS::Route53Resolver::FirewallRuleGroup', {
      FirewallRules: [
        {
          Action: 'BLOCK',
          BlockResponse: 'NXDOMAIN',
          FirewallDomainListId: { 'Fn::GetAtt': [domainListId, 'Id'] },
          Priority: Match.anyValue(),
        },
      ],
    });
    const [ruleGroupId] = onlyResource(json, 'AWS::Route53Resolver::FirewallRuleGroup');
    const [vpcId] = onlyResource(json, 'AWS::EC2::VPC');
    template.hasResourceProperties('AWS::Route53Resolver::FirewallRuleGroupAssociation', {
      FirewallRuleGroupId: { 'Fn::GetAtt': [ruleGroupId, 'Id'] },
      VpcId: { Ref: vpcId },
      Priority: 101,
      MutationProtection: 'ENABLED',
    });
  });
});
