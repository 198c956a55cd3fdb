/**
 * One executor Lambda per profile, so two profiles never share an execution environment: in the
 * isolated subnets, behind a security group with no egress, with a role that may only attach to
 * the VPC and write its own logs.
 */
import { Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { EXECUTOR_ENV } from '../lambda/core/env-names.ts';
import type { Profile } from '../lambda/core/policy.ts';
import { architectureOf } from './bundling/architecture.ts';
import { executorBundleCommands } from './bundling/bundle-files.ts';
import { executorAssetHash } from './bundling/executor-asset-hash.ts';
import { type ProfileJavaScriptPackages, profileJavaScriptPackages } from './bundling/js-packages-asset.ts';
import { CustodyFunction } from './bundling/lambda-defaults.ts';
import { PACKAGE_ROOT } from './bundling/package-paths.ts';
import { pythonPackagesBundling } from './bundling/profile-python-packages.ts';
import type { CustodyNetwork } from './network.ts';

/** Time the executor needs beyond the user's deadline: cold start of the runtime, sealing. */
const EXECUTOR_TIMEOUT_MARGIN = Duration.seconds(15);

/** Lambda's own ceiling on a function timeout. */
const MAX_LAMBDA_TIMEOUT_SECONDS = 900;

/** The Lambda timeout of a profile's executor: the profile's deadline plus the margin. */
export function executorTimeout(profile: Pick<Profile, 'timeoutMs'>): Duration {
  const seconds = Math.ceil(profile.timeoutMs / 1000) + EXECUTOR_TIMEOUT_MARGIN.toSeconds();
  return Duration.seconds(Math.min(seconds, MAX_LAMBDA_TIMEOUT_SECONDS));
}

export interface ProfileExecutorProps {
  readonly profileName: string;
  readonly profile: Profile;
  readonly network: CustodyNetwork;
  /** @default - the profile's `reservedConcurrency`, else unreserved */
  readonly reservedConcurrency?: number;
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  /**
   * Shell commands that put the sandbox runtimes next to the bundle.
   * @default executorBundleCommands for the architecture of the CustodyConstruct above
   */
  readonly bundleCommands?: (inputDir: string, outputDir: string) => string[];
}

export class ProfileExecutor extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly securityGroup: ec2.SecurityGroup;
  readonly logGroup: logs.LogGroup;
  /** The JavaScript packages bundled into this executor's asset, with their versions and sha256 (#17). */
  readonly javascriptPackages: ProfileJavaScriptPackages['manifest'];

  constructor(scope: Construct, id: string, props: ProfileExecutorProps) {
    super(scope, id);

    // allowAllOutbound: false removes the default allow-all egress rule; CDK leaves a rule that
    // matches no traffic (ICMP type 252 code 86 to 255.255.255.255/32) because an empty egress
    // list would make EC2 add allow-all again.
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.network.vpc,
      description: `custody executor of profile ${props.profileName}: no ingress, no egress`,
      allowAllOutbound: false,
      allowAllIpv6Outbound: false,
    });

    const entry = 'lambda/handlers/executor.ts';
    const architecture = architectureOf(this);
    const javascript = profileJavaScriptPackages(props.profileName, props.profile);
    this.javascriptPackages = javascript.manifest;
    const python = pythonPackagesBundling(this, PACKAGE_ROOT, props.profileName, props.profile);
    const executor = new CustodyFunction(this, 'Executor', {
      entry,
      description: `custody executor of profile ${props.profileName}`,
      roleDescription: `custody executor of profile ${props.profileName}: VPC attachment and own logs only`,
      memoryMiB: props.profile.memoryMiB,
      timeout: executorTimeout(props.profile),
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      // The executor calls nothing, so there is nothing to trace from inside it, and with no
      // egress the X-Ray daemon could not send a segment anyway; the broker traces the call.
      tracing: lambda.Tracing.DISABLED,
      vpc: props.network.vpc,
      vpcSubnets: props.network.executorSubnets,
      securityGroups: [this.securityGroup],
      reservedConcurrentExecutions: props.reservedConcurrency ?? props.profile.reservedConcurrency,
      environment: {
        [EXECUTOR_ENV.profile]: props.profileName,
        // Where the afterBundling hook put the sandbox runtimes (the bundle is unpacked in /var/task).
        [EXECUTOR_ENV.runtimeDir]: '/var/task/runtime',
      },
      afterBundling: (inputDir, outputDir) => [
        ...(
          props.bundleCommands ??
          ((i, o) =>
            executorBundleCommands(i, o, {
              architecture,
              ...(python.python ? { python: python.python } : {}),
            }))
        )(inputDir, outputDir),
        ...javascript.commands(outputDir),
      ],
      // The Pyodide snapshot differs from build to build: hash the inputs, not the output, so an
      // unchanged executor keeps its asset (computed only when this stack is bundled, and only
      // for the default commands, whose inputs the hash knows).
      ...(Stack.of(this).bundlingRequired && !props.bundleCommands
        ? {
            assetHash: executorAssetHash({
              projectRoot: PACKAGE_ROOT,
              entry,
              architecture,
              extra: javascript.hashInput + python.hashInput,
            }),
          }
        : {}),
    });
    this.function = executor.function;
    this.role = executor.role;
    this.logGroup = executor.logGroup;

    // What AWSLambdaVPCAccessExecutionRole grants, without its logs:* part: Lambda manages the
    // function's ENIs with these. EC2 does not scope Describe* to resources, and Lambda creates
    // the ENIs before their ids exist.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ManageVpcNetworkInterfaces',
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    );

    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'The ENI actions of AWSLambdaVPCAccessExecutionRole: EC2 Describe* has no resource-level ' +
        'permissions and Lambda creates the ENIs before their ids exist.',
    });
    Validations.of(this.function).acknowledge(
      {
        id: 'Serverless::Serverless-LambdaDLQ',
        reason:
          'Invoked synchronously by the broker (RequestResponse); there is no async event to dead-letter.',
      },
      {
        id: 'Serverless::Serverless-LambdaTracing',
        reason:
          'The executor calls nothing, and with no egress the X-Ray daemon could not send ' +
          'segments; its role stays free of xray:* (the broker traces each call).',
      },
    );
  }
}
