/**
 * custody as one construct: everything `cdk deploy` stands up, from a validated policy. A team
 * can use it inside its own CDK app; `CustodyStack` is a thin stack around it.
 */
import { Annotations, Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { DeploymentFile } from '../lambda/core/deployment.ts';
import type { Policy } from '../lambda/core/policy.ts';
import { CustodyAlarms } from './alarms.ts';
import { CustodyApi, type CustodyApiThrottle, DEFAULT_INTEGRATION_TIMEOUT } from './api.ts';
import { CustodyAudit } from './audit.ts';
import { brokerTimeout, CustodyBroker, type DeployedProfile } from './broker.ts';
import {
  CONSTRUCT_ARCHITECTURE_KEY,
  type FunctionArchitecture,
  parseArchitecture,
} from './bundling/architecture.ts';
import { AuditContributorInsights } from './contributor-insights.ts';
import { CustodyDashboard } from './dashboard.ts';
import { warnAboutDocumentationAccount } from './documentation-account.ts';
import { ExecutionRole } from './execution-role.ts';
import { executorTimeout, ProfileExecutor } from './executors.ts';
import { CustodyNetwork, type DnsControl } from './network.ts';
import { CustodyQueries } from './queries.ts';
import { CustodySessions } from './sessions.ts';
import { addCustodyStackOutputs } from './stack-outputs.ts';

export interface CustodyConstructProps {
  /** The validated policy (see `loadPolicyFile`): one executor and one role per profile. */
  readonly policy: Policy;
  /** Retention of the audit log group. @default logs.RetentionDays.TEN_YEARS */
  readonly auditLogRetention?: logs.RetentionDays;
  /** Retention of every other log group (Lambda, API access and execution, flow logs). @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Reserved concurrency of every executor whose profile does not set `reservedConcurrency`.
   * @default - unreserved
   */
  readonly executorReservedConcurrency?: number;
  /** Stage throttling. @default - `policy.api.throttleRateLimit` / `throttleBurstLimit` */
  readonly throttle?: CustodyApiThrottle;
  /**
   * API Gateway integration timeout. Above 29 seconds needs a quota increase for the account.
   * @default Duration.seconds(29)
   */
  readonly integrationTimeout?: Duration;
  /** How DNS is kept from being a channel out of the VPC; see `DnsControl`. @default 'disable-dns' */
  readonly dnsControl?: DnsControl;
  /**
   * What happens to the audit table, the audit log group and the audit keys when the stack is
   * deleted. RETAIN_ON_UPDATE_OR_DELETE keeps them on delete and update but removes them when a
   * first create rolls back, so a failed deploy can be retried; the table (deletion protection on,
   * generated name) is plain RETAIN under it. The session key, table and buckets (#15) follow it
   * too. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
   */
  readonly auditRemovalPolicy?: RemovalPolicy;
  /**
   * What happens to operational log groups when the stack is deleted (they have generated names).
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
   */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** How often the audit digester seals new records. @default Duration.minutes(5) */
  readonly auditDigestInterval?: Duration;
  /** Where the alarms notify (alarm and OK). @default - no actions; the alarms show on the dashboard */
  readonly alarmTopic?: sns.ITopic;
  /** Denials in 5 minutes that raise the denial-spike alarm. @default 20 */
  readonly denialSpikeThreshold?: number;
  /**
   * CPU architecture of every custody Lambda: 'arm64' for Graviton. The executor's bundle then
   * carries the Linux deno and esbuild of that architecture, whatever machine runs `cdk synth`.
   * @default 'x86_64'
   */
  readonly architecture?: FunctionArchitecture;
}

export class CustodyConstruct extends Construct {
  readonly vpc: ec2.Vpc;
  readonly network: CustodyNetwork;
  readonly api: apigateway.RestApi;
  readonly brokerFunction: lambda.Function;
  readonly brokerRole: iam.Role;
  /** What the broker's bundle carries as `deployment.json` (profiles, secrets, resource names). */
  readonly brokerDeployment: DeploymentFile;
  /** Executor Lambda by profile name. */
  readonly executors: ReadonlyMap<string, lambda.Function>;
  /** Execution role by profile name. */
  readonly executionRoles: ReadonlyMap<string, iam.Role>;
  readonly auditTable: dynamodb.Table;
  readonly auditLogGroup: logs.LogGroup;
  readonly auditKey: kms.Key;
  readonly signingKey: kms.Key;
  readonly digestFunction: lambda.Function;
  /** Sessions (#15): the session table, the state bucket and the session key. */
  readonly sessions: CustodySessions;
  readonly dashboard: cloudwatch.Dashboard;
  /** The alarms an on-call person answers (docs/operations.md). */
  readonly alarms: CustodyAlarms;
  /** Saved Logs Insights queries over the audit log group. */
  readonly queries: CustodyQueries;
  /** Contributor Insights rules (top callers, top profiles, most refused callers). */
  readonly contributorInsights: AuditContributorInsights;
  /** Base URL of the API stage (ends with `/`). */
  readonly apiUrl: string;
  readonly dashboardUrl: string;

  constructor(scope: Construct, id: string, props: CustodyConstructProps) {
    super(scope, id);
    // Recorded before any child exists, so every CustodyFunction below reads it (architecture.ts).
    if (props.architecture !== undefined) {
      this.node.setContext(
        CONSTRUCT_ARCHITECTURE_KEY,
        parseArchitecture(props.architecture, 'CustodyConstruct: props.architecture'),
      );
    }
    const { policy } = props;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    const logRemovalPolicy = props.logRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    const integrationTimeout = props.integrationTimeout ?? DEFAULT_INTEGRATION_TIMEOUT;
    if (Object.keys(policy.profiles).length === 0) {
      throw new Error('CustodyConstruct: props.policy declares no profiles; there would be nothing to run');
    }
    warnAboutDocumentationAccount(this, policy);

    this.network = new CustodyNetwork(this, 'Network', {
      dnsControl: props.dnsControl,
      flowLogRetention: logRetention,
      logRemovalPolicy,
    });
    this.vpc = this.network.vpc;

    const digestInterval = props.auditDigestInterval ?? Duration.minutes(5);
    const audit = new CustodyAudit(this, 'Audit', {
      auditLogRetention: props.auditLogRetention ?? logs.RetentionDays.TEN_YEARS,
      logRetention,
      auditRemovalPolicy: props.auditRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      logRemovalPolicy,
      digestInterval,
    });
    this.auditTable = audit.auditTable;
    this.auditLogGroup = audit.auditLogGroup;
    this.auditKey = audit.auditKey;
    this.signingKey = audit.signingKey;
    this.digestFunction = audit.digestFunction.function;

    this.sessions = new CustodySessions(this, 'Sessions', {
      policy,
      removalPolicy: props.auditRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });

    const profiles = Object.entries(policy.profiles);
    const broker = new CustodyBroker(this, 'Broker', {
      policy,
      audit,
      sessions: this.sessions,
      timeout: brokerTimeout(profiles.map(([, p]) => executorTimeout(p))),
      logRetention,
      logRemovalPolicy,
    });
    this.brokerFunction = broker.function;
    this.brokerRole = broker.role;
    this.brokerDeployment = broker.deploymentFile;

    const executors = new Map<string, lambda.Function>();
    const roles = new Map<string, iam.Role>();
    const deployed = new Map<string, DeployedProfile>();
    for (const [name, profile] of profiles) {
      const executor = new ProfileExecutor(this, `Executor-${name}`, {
        profileName: name,
        profile,
        network: this.network,
        reservedConcurrency: profile.reservedConcurrency ?? props.executorReservedConcurrency,
        logRetention,
        logRemovalPolicy,
      });
      const role = new ExecutionRole(this, `ExecutionRole-${name}`, {
        profileName: name,
        profile,
        policy,
        broker: broker.role,
        executor: executor.function,
        sessions: this.sessions,
      });
      executors.set(name, executor.function);
      roles.set(name, role.role);
      deployed.set(name, { role: role.role, executor: executor.function, secrets: role.secrets });

      const neededMs = profile.timeoutMs + 5_000;
      if (neededMs > integrationTimeout.toMilliseconds()) {
        Annotations.of(executor).addWarningV2(
          'custody:integration-timeout',
          `Profile ${name} allows ${profile.timeoutMs} ms of code, but API Gateway waits ` +
            `${integrationTimeout.toSeconds()} s for the broker: long runs will get 504. Raise the ` +
            'integration timeout quota and set integrationTimeout, or lower the profile timeoutMs.',
        );
      }
    }
    broker.connectProfiles(deployed);
    this.executors = executors;
    this.executionRoles = roles;

    const api = new CustodyApi(this, 'Api', {
      policy,
      broker: broker.function,
      throttle: props.throttle ?? {
        rateLimit: policy.api.throttleRateLimit,
        burstLimit: policy.api.throttleBurstLimit,
      },
      integrationTimeout,
      logRetention,
      logRemovalPolicy,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
    });
    this.api = api.api;
    this.apiUrl = api.url;

    this.alarms = new CustodyAlarms(this, 'Alarms', {
      digestInterval,
      ...(props.alarmTopic ? { alarmTopic: props.alarmTopic } : {}),
      ...(props.denialSpikeThreshold === undefined
        ? {}
        : { denialSpikeThreshold: props.denialSpikeThreshold }),
    });
    this.queries = new CustodyQueries(this, 'Queries', { auditLogGroup: audit.auditLogGroup });
    this.contributorInsights = new AuditContributorInsights(this, 'ContributorInsights', {
      auditLogGroup: audit.auditLogGroup,
    });

    const dashboard = new CustodyDashboard(this, 'Dashboard', {
      api: api.api,
      broker: broker.function,
      executors,
      digester: audit.digestFunction.function,
      auditTable: audit.auditTable,
      auditLogGroup: audit.auditLogGroup,
      alarms: this.alarms,
      contributorInsights: this.contributorInsights,
    });
    this.dashboard = dashboard.dashboard;
    this.dashboardUrl = dashboard.url;

    addCustodyStackOutputs(this, {
      auditTable: this.auditTable,
      signingKey: this.signingKey,
      auditLogGroup: this.auditLogGroup,
      executionRoles: this.executionRoles,
    });
  }

  /**
   * Lets `grantee` call the API: `execute-api:Invoke` on each of its routes (method and path) on
   * the deployed stage, nothing else. The API's resource policy must admit the grantee's account
   * (`api.allowedAccounts` / `api.allowedOrganizationId`), and the custody policy must bind the
   * principal to a profile before any code runs: this grant only lets its requests reach the broker.
   */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: this.api.methods.map((method) => method.methodArn),
    });
  }
}
