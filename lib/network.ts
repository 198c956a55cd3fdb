/**
 * The executors' network: a VPC with isolated subnets only (no internet gateway, no NAT), flow
 * logs on, and DNS closed as a channel out.
 */
import type { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53resolver from 'aws-cdk-lib/aws-route53resolver';
import { Construct } from 'constructs';

/**
 * How the VPC's DNS resolver is kept from being an exfiltration channel. Security groups do not
 * filter traffic to the Amazon-provided resolver (VPC base + 2), so a sandbox with no egress rule
 * could still leak data as DNS queries (`<data>.attacker.example`) that the resolver forwards.
 *
 * - `'disable-dns'` (the default): turn off DNS support in the VPC, so there is no resolver to
 *   talk to at all. Nothing in this VPC needs DNS: the executor calls no service (Lambda delivers
 *   its invocations and collects its logs outside the VPC), and there are no interface endpoints.
 *   It is the stronger control: no rule to misorder, no other rule group (e.g. one associated by
 *   Firewall Manager at a higher priority with ALLOW) can reopen it, and it costs nothing.
 * - `'dns-firewall'`: keep DNS support (for a team that later adds interface endpoints with
 *   private DNS) and associate a Route 53 Resolver DNS Firewall rule group that blocks every
 *   domain (`*`) with NXDOMAIN.
 */
export type DnsControl = 'disable-dns' | 'dns-firewall';

export interface CustodyNetworkProps {
  /** @default 'disable-dns' */
  readonly dnsControl?: DnsControl;
  /** Retention of the flow log group. */
  readonly flowLogRetention: logs.RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  /** @default 2 */
  readonly maxAzs?: number;
}

export class CustodyNetwork extends Construct {
  readonly vpc: ec2.Vpc;
  readonly flowLogGroup: logs.LogGroup;
  readonly dnsControl: DnsControl;
  /** The DNS Firewall rule group, when `dnsControl` is `'dns-firewall'`. */
  readonly dnsFirewallRuleGroup?: route53resolver.CfnFirewallRuleGroup;

  constructor(scope: Construct, id: string, props: CustodyNetworkProps) {
    super(scope, id);
    this.dnsControl = props.dnsControl ?? 'disable-dns';
    const dnsSupport = this.dnsControl === 'dns-firewall';

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: props.maxAzs ?? 2,
      natGateways: 0,
      // Only isolated subnets: no route to an internet gateway or a NAT, so no route out at all.
      subnetConfiguration: [{ name: 'executors', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      createInternetGateway: false,
      enableDnsSupport: dnsSupport,
      enableDnsHostnames: dnsSupport,
      // Restricting the default security group needs a custom-resource Lambda (and its own
      // unmanaged log group). Nothing here is attached to the default group: every ENI in this
      // VPC is an executor ENI with the executor's own no-egress group, and with no route out,
      // no resolver and nothing else in the VPC, the default group has nothing to reach.
      restrictDefaultSecurityGroup: false,
    });

    this.flowLogGroup = new logs.LogGroup(this, 'FlowLogGroup', {
      retention: props.flowLogRetention,
      removalPolicy: props.logRemovalPolicy,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    if (this.dnsControl === 'dns-firewall') {
      const everyDomain = new route53resolver.CfnFirewallDomainList(this, 'EveryDomain', {
        domains: ['*'],
      });
      this.dnsFirewallRuleGroup = new route53resolver.CfnFirewallRuleGroup(this, 'BlockEveryDomain', {
        firewallRules: [
          {
            firewallDomainListId: everyDomain.attrId,
            priority: 100,
            action: 'BLOCK',
            blockResponse: 'NXDOMAIN',
          },
        ],
      });
      new route53resolver.CfnFirewallRuleGroupAssociation(this, 'BlockEveryDomainAssociation', {
        firewallRuleGroupId: this.dnsFirewallRuleGroup.attrId,
        vpcId: this.vpc.vpcId,
        // Priorities must be > 100: 101 is evaluated before any other group a team associates.
        priority: 101,
        mutationProtection: 'ENABLED',
      });
    }
  }

  /** The subnets executors run in. */
  get executorSubnets(): ec2.SubnetSelection {
    return { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
  }
}
