/**
 * The broker Lambda (outside the VPC): identifies the caller, decides against the policy, writes
 * the audit trail, and assumes the profile's execution role for one call. Its own role may assume
 * the execution roles and write the audit trail, nothing else: it cannot invoke an executor or
 * read a secret except through an assumed execution role.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { METRIC_NAMESPACE, METRIC_SERVICE } from '../lambda/core/metrics.ts';
import type { Policy } from '../lambda/core/policy.ts';
import type { CustodyAudit } from './audit.ts';
import { CustodyFunction } from './lambda-defaults.ts';

/** The name the policy is copied under, next to the broker's bundle. */
export const BROKER_POLICY_FILE = 'policy.json';

/** What the broker needs to know about one deployed profile. */
export interface DeployedProfile {
  readonly role: iam.IRole;
  readonly executor: lambda.IFunction;
  /** Secret by the variable name it is exposed under. */
  readonly secrets: ReadonlyMap<string, secretsmanager.ISecret>;
}

/** The JSON shape of the broker's `CUSTODY_DEPLOYMENT` variable. */
export interface BrokerDeployment {
  readonly profiles: Record<
    string,
    { readonly roleArn: string; readonly executorArn: string; readonly secrets: Record<string, string> }
  >;
}

export interface CustodyBrokerProps {
  /** The validated policy; copied (with defaults filled in) into the bundle as `policy.json`. */
  readonly policy: Policy;
  readonly audit: CustodyAudit;
  /** Time the broker may spend on one request, including the executor's. */
  readonly timeout: Duration;
  /** @default 1024 */
  readonly memoryMiB?: number;
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
}

export class CustodyBroker extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: CustodyBrokerProps) {
    super(scope, id);
    const policyFile = writePolicySnapshot(props.policy);

    const broker = new CustodyFunction(this, 'Broker', {
      entry: 'lambda/broker/handler.ts',
      description: 'custody broker: identity, policy, STS, audit',
      roleDescription: 'custody broker: assumes execution roles, writes the audit trail',
      memoryMiB: props.memoryMiB ?? 1024,
      timeout: props.timeout,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      environment: {
        CUSTODY_AUDIT_TABLE: props.audit.auditTable.tableName,
        CUSTODY_AUDIT_LOG_GROUP: props.audit.auditLogGroup.logGroupName,
        CUSTODY_POLICY_FILE: BROKER_POLICY_FILE,
        POWERTOOLS_SERVICE_NAME: METRIC_SERVICE,
        POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
      },
      afterBundling: (_inputDir, outputDir) => [`cp "${policyFile}" "${outputDir}/${BROKER_POLICY_FILE}"`],
    });
    this.function = broker.function;
    this.role = broker.role;
    this.logGroup = broker.logGroup;

    // Audit: PutItem (the conditional "started"/"completed" writes), GetItem and Query (GET
    // /v1/executions/{id}). No Update, no Delete: the broker cannot rewrite history.
    props.audit.grantAuditTable(this.role, 'dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:Query');
    props.audit.grantAuditLogWrite(this.role);

    Validations.of(this.function).acknowledge({
      id: 'Serverless::Serverless-LambdaDLQ',
      reason: 'Invoked synchronously by API Gateway; the caller gets the error, there is no async event.',
    });
  }

  /**
   * Tells the broker where each profile's role, executor and secrets are, and lets it assume the
   * execution roles (with a source identity and session tags). Call once, with every profile.
   */
  connectProfiles(profiles: ReadonlyMap<string, DeployedProfile>): void {
    const deployment: BrokerDeployment = {
      profiles: Object.fromEntries(
        [...profiles].map(([name, p]) => [
          name,
          {
            roleArn: p.role.roleArn,
            executorArn: p.executor.functionArn,
            secrets: Object.fromEntries([...p.secrets].map(([variable, s]) => [variable, s.secretName])),
          },
        ]),
      ),
    };
    this.function.addEnvironment('CUSTODY_DEPLOYMENT', Stack.of(this).toJsonString(deployment));
    for (const profile of profiles.values()) {
      profile.role.grant(this.role, 'sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession');
    }
  }
}

/**
 * Writes the policy as the broker will read it to a content-addressed file, for the bundling hook
 * to copy. The snapshot is the parsed policy, so the broker reads exactly what synth validated.
 */
function writePolicySnapshot(policy: Policy): string {
  const text = `${JSON.stringify(policy, null, 2)}\n`;
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const file = path.join(tmpdir(), `custody-policy-${digest}.json`);
  writeFileSync(file, text);
  return file;
}

/** The broker's Lambda timeout: the slowest executor's plus time for STS, secrets and audit. */
export function brokerTimeout(executorTimeouts: readonly Duration[]): Duration {
  const slowest = Math.max(0, ...executorTimeouts.map((t) => t.toSeconds()));
  return Duration.seconds(Math.min(slowest + 15, 900));
}
