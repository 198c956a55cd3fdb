/**
 * The broker Lambda (outside the VPC): identifies the caller, decides against the policy, writes
 * the audit trail, and assumes the profile's execution role for one call. Its own role may assume
 * the execution roles and write the audit trail, nothing else: it cannot invoke an executor or
 * read a secret except through an assumed execution role.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Aws, Duration, type RemovalPolicy, Stack, Stage, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DEPLOYMENT_FILE, type DeploymentFile } from '../lambda/core/deployment.ts';
import { BROKER_ENV } from '../lambda/core/env-names.ts';
import { METRIC_NAMESPACE, METRIC_SERVICE } from '../lambda/core/metrics.ts';
import type { Policy } from '../lambda/core/policy.ts';
import { SWEEP_SESSIONS_EVENT } from '../lambda/core/session.ts';
import { type CustodyAudit, custodyLogGroupNameOfStack } from './audit.ts';
import {
  checkEnvironmentSize,
  deploymentFileOf,
  nameProfileResources,
  profileNamePrefix,
} from './broker-deployment.ts';
import { CustodyFunction } from './bundling/lambda-defaults.ts';
import type { CustodySessions } from './sessions.ts';

/** The name the policy is copied under, next to the broker's bundle. */
const BROKER_POLICY_FILE = 'policy.json';

/** What the broker needs to know about one deployed profile. */
export interface DeployedProfile {
  readonly role: iam.IRole;
  readonly executor: lambda.IFunction;
  /** Secret by the variable name it is exposed under. */
  readonly secrets: ReadonlyMap<string, secretsmanager.ISecret>;
}

export interface CustodyBrokerProps {
  /** The validated policy; copied (with defaults filled in) into the bundle as `policy.json`. */
  readonly policy: Policy;
  readonly audit: CustodyAudit;
  /** The session table, state bucket and key (#15). */
  readonly sessions: CustodySessions;
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
  /** What the broker's bundle carries as `deployment.json`. */
  readonly deploymentFile: DeploymentFile;

  constructor(scope: Construct, id: string, props: CustodyBrokerProps) {
    super(scope, id);
    this.deploymentFile = deploymentFileOf(props.policy, profileNamePrefix(scope));
    const bundleFiles = writeBundleFiles(this, {
      [BROKER_POLICY_FILE]: props.policy,
      [DEPLOYMENT_FILE]: this.deploymentFile,
    });

    // The broker's log group may hold audit records the audit trail could not take yet: it is
    // encrypted with the audit key, whose policy names the group (hence the fixed name, unique
    // per stack incarnation like the audit log group's).
    const logGroupName = custodyLogGroupNameOfStack(Stack.of(this), 'broker');
    props.audit.allowLogsToEncrypt('CloudWatchLogsEncryptsTheBrokerLogGroup', logGroupName);
    const broker = new CustodyFunction(this, 'Broker', {
      logGroupName,
      logEncryptionKey: props.audit.auditKey,
      entry: 'lambda/handlers/broker.ts',
      description: 'custody broker: identity, policy, STS, audit',
      roleDescription: 'custody broker: assumes execution roles, writes the audit trail',
      memoryMiB: props.memoryMiB ?? 1024,
      timeout: props.timeout,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      environment: {
        [BROKER_ENV.auditTable]: props.audit.auditTable.tableName,
        [BROKER_ENV.auditLogGroup]: props.audit.auditLogGroup.logGroupName,
        [BROKER_ENV.policyFile]: BROKER_POLICY_FILE,
        // With deployment.json in the bundle and AWS_REGION, the broker derives every profile's
        // execution role and executor ARN (lambda/core/deployment.ts).
        [BROKER_ENV.account]: Aws.ACCOUNT_ID,
        [BROKER_ENV.partition]: Aws.PARTITION,
        [BROKER_ENV.sessionTable]: props.sessions.table.tableName,
        [BROKER_ENV.sessionBucket]: props.sessions.stateBucket.bucketName,
        [BROKER_ENV.sessionKeyArn]: props.sessions.key.keyArn,
        POWERTOOLS_SERVICE_NAME: METRIC_SERVICE,
        POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
      },
      // A copy by node, not `cp`: the hook runs under cmd on Windows. Double quotes only, which
      // both sh and cmd read as one argument.
      afterBundling: (_inputDir, outputDir) =>
        bundleFiles.map(
          ([file, name]) =>
            `node -e "require('node:fs').copyFileSync(process.argv[1], process.argv[2])" "${file}" "${outputDir}/${name}"`,
        ),
    });
    this.function = broker.function;
    checkEnvironmentSize(this.function);
    this.role = broker.role;
    this.logGroup = broker.logGroup;
    this.logGroup.node.addDependency(props.audit.auditKey);

    // Audit: PutItem (the conditional "started"/"completed" writes), GetItem and Query (GET
    // /v1/executions/{id}). No Update, no Delete: the broker cannot rewrite history.
    props.audit.grantAuditTable(this.role, 'dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:Query');
    props.audit.grantAuditLogWrite(this.role);
    // Sessions: the table, data keys bound to a session, and deleting state (never reading it).
    props.sessions.grantBroker(this.role);
    // Sessions end on their own: the broker ends those past their end or revoked every 5 minutes
    // (and at their next access); DynamoDB TTL and the bucket's lifecycle rule are backstops.
    new events.Rule(this, 'SessionSweep', {
      description: 'custody: end sessions past their end or revoked',
      schedule: events.Schedule.rate(Duration.minutes(5)),
      targets: [
        new targets.LambdaFunction(this.function, {
          event: events.RuleTargetInput.fromObject(SWEEP_SESSIONS_EVENT),
          // The scheduled jobs' one failure queue (the digester's), which operators read.
          deadLetterQueue: props.audit.digestFailures,
          retryAttempts: 2,
        }),
      ],
    });

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
    const expected = Object.keys(this.deploymentFile.profiles).sort();
    if (JSON.stringify([...profiles.keys()].sort()) !== JSON.stringify(expected)) {
      throw new Error(
        `CustodyBroker.connectProfiles: expected the policy's profiles (${expected.join(', ')}), got ${[...profiles.keys()].join(', ')}`,
      );
    }
    for (const [name, profile] of profiles) {
      nameProfileResources(this.deploymentFile, name, profile.executor, profile.role);
      profile.role.grant(this.role, 'sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession');
    }
  }
}

/**
 * Writes each document as JSON to a content-addressed file under the cloud assembly directory
 * (`cdk.out`, generated and ignored), for the bundling hook to copy into the bundle. The policy
 * is the parsed one, so the broker reads exactly what synth validated.
 */
function writeBundleFiles(scope: Construct, documents: Record<string, unknown>): Array<[string, string]> {
  const root = Stage.of(scope)?.outdir;
  // Unreachable through CustodyConstruct (the CDK refuses its assets outside a Stage first).
  if (root === undefined) {
    throw new Error(
      `${scope.node.path}: a CustodyConstruct must be inside a cdk App (or Stage), whose cloud assembly holds the broker's policy`,
    );
  }
  return Object.entries(documents).map(([name, document]) => {
    const text = `${JSON.stringify(document, null, 2)}\n`;
    const digest = createHash('sha256').update(text).digest('hex').slice(0, 16);
    const dir = path.join(root, '.custody-broker-files', digest);
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return [file, name];
  });
}

/** The broker's Lambda timeout: the slowest executor's plus time for STS, secrets and audit. */
export function brokerTimeout(executorTimeouts: readonly Duration[]): Duration {
  const slowest = Math.max(0, ...executorTimeouts.map((t) => t.toSeconds()));
  return Duration.seconds(Math.min(slowest + 15, 900));
}
