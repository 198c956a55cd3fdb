/**
 * Contributor Insights rules on the audit log group: who calls custody most, which profiles are
 * used most, and who is refused most. Each rule counts audit record lines (JSON) by a record field;
 * the keys are `AuditRecord` paths (a test checks them against records the broker wrote).
 *
 * Every request leaves exactly one `started` (allowed) or one `denied` (refused) event, so counting
 * those two counts each request once.
 */
import { Names, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { AuditEvent } from '../lambda/core/audit-record.ts';
import { type AuditRecordField, field } from './queries.ts';

/** One Contributor Insights rule, as custody describes it. */
export interface AuditContributorRule {
  /** Construct id and the suffix of the rule name. */
  readonly id: string;
  readonly title: string;
  /** Record fields whose values identify a contributor (at most 4). */
  readonly keys: readonly AuditRecordField[];
  /** Events counted. */
  readonly events: readonly AuditEvent[];
}

export const TOP_CALLERS: AuditContributorRule = {
  id: 'TopCallers',
  title: 'Top callers (requests per policy principal)',
  keys: ['caller.principalArn'],
  events: ['started', 'denied'],
};

export const TOP_PROFILES: AuditContributorRule = {
  id: 'TopProfiles',
  title: 'Top profiles (executions per profile)',
  keys: ['request.profile'],
  events: ['started'],
};

/** Keyed on the signing ARN, so callers the policy does not know (no principalArn) show up too. */
export const TOP_DENIED_CALLERS: AuditContributorRule = {
  id: 'TopDeniedCallers',
  title: 'Most refused callers (denials per signing identity and reason)',
  keys: ['caller.arn', 'decision.reason'],
  events: ['denied'],
};

export const AUDIT_CONTRIBUTOR_RULES: readonly AuditContributorRule[] = [
  TOP_CALLERS,
  TOP_PROFILES,
  TOP_DENIED_CALLERS,
];

/** The Contributor Insights rule body (CloudWatchLogRule schema, JSON log format). */
export function contributorRuleBody(
  rule: AuditContributorRule,
  logGroupName: string,
): Record<string, unknown> {
  if (rule.keys.length < 1 || rule.keys.length > 4) {
    throw new Error(`Contributor Insights rule ${rule.id}: needs 1 to 4 keys, has ${rule.keys.length}`);
  }
  return {
    Schema: { Name: 'CloudWatchLogRule', Version: 1 },
    LogGroupNames: [logGroupName],
    LogFormat: 'JSON',
    Contribution: {
      Keys: rule.keys.map((key) => `$.${key}`),
      Filters: [{ Match: `$.${field('event')}`, In: [...rule.events] }],
    },
    AggregateOn: 'Count',
  };
}

export interface AuditContributorInsightsProps {
  readonly auditLogGroup: logs.ILogGroup;
}

export class AuditContributorInsights extends Construct {
  /** Rule resource by `AuditContributorRule.id`. */
  readonly rules: ReadonlyMap<string, cloudwatch.CfnInsightRule>;

  constructor(scope: Construct, id: string, props: AuditContributorInsightsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const prefix = Names.uniqueResourceName(this, { maxLength: 96, separator: '-' });
    const rules = new Map<string, cloudwatch.CfnInsightRule>();
    for (const rule of AUDIT_CONTRIBUTOR_RULES) {
      rules.set(
        rule.id,
        new cloudwatch.CfnInsightRule(this, rule.id, {
          ruleName: `${prefix}-${rule.id}`,
          ruleState: 'ENABLED',
          ruleBody: stack.toJsonString(contributorRuleBody(rule, props.auditLogGroup.logGroupName)),
        }),
      );
    }
    this.rules = rules;
  }

  /** The rule resource for `rule`. */
  ruleFor(rule: AuditContributorRule): cloudwatch.CfnInsightRule {
    const found = this.rules.get(rule.id);
    if (!found) throw new Error(`no Contributor Insights rule ${rule.id}`);
    return found;
  }
}

export interface ContributorInsightsWidgetProps {
  readonly title: string;
  readonly rule: cloudwatch.CfnInsightRule;
  /** @default 10 */
  readonly maxContributors?: number;
  /** @default 12 */
  readonly width?: number;
  /** @default 6 */
  readonly height?: number;
  /** Aggregation period in seconds. @default 300 */
  readonly periodSeconds?: number;
}

/** A dashboard graph of a rule's top contributors (CloudWatch has no L2 widget for this). */
export class ContributorInsightsWidget extends cloudwatch.ConcreteWidget {
  constructor(private readonly props: ContributorInsightsWidgetProps) {
    super(props.width ?? 12, props.height ?? 6);
  }

  toJson(): unknown[] {
    return [
      {
        type: 'metric',
        width: this.width,
        height: this.height,
        x: this.x,
        y: this.y,
        properties: {
          title: this.props.title,
          region: Stack.of(this.props.rule).region,
          view: 'timeSeries',
          stacked: false,
          period: this.props.periodSeconds ?? 300,
          legend: { position: 'right' },
          insightRule: {
            ruleName: this.props.rule.attrRuleName,
            maxContributorCount: this.props.maxContributors ?? 10,
            orderBy: 'Sum',
          },
        },
      },
    ];
  }
}
