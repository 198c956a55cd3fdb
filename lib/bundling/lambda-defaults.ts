/**
 * Secure defaults for every custody Lambda, in one place: explicit runtime and architecture,
 * local esbuild bundling (no Docker), a log group with a retention period created up front (so
 * Lambda never creates one that keeps logs forever), and a role of its own that may write only to
 * that log group (no AWS managed policy, no `logs:*` on `*`).
 */
import { type Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { architectureOf, lambdaArchitecture } from './architecture.ts';
import { lockFileOf, PACKAGE_ROOT, packageFile } from './package-paths.ts';

/**
 * Runtime of every custody Lambda. Pinned, not NODEJS_LATEST: a runtime change is a reviewed
 * commit, not a side effect of upgrading aws-cdk-lib.
 */
const CUSTODY_RUNTIME = lambda.Runtime.NODEJS_22_X;

/**
 * Defines `require` in the ESM bundle, for CommonJS dependencies that call it (esbuild's ESM
 * output otherwise throws "Dynamic require of ... is not supported").
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __custodyCreateRequire } from 'node:module'; const require = __custodyCreateRequire(import.meta.url);";

export interface CustodyFunctionProps {
  /**
   * Entry file as the checkout names it, e.g. `lambda/handlers/broker.ts`; resolved in this
   * package (its emitted `.js` when installed), never in the app's working directory.
   */
  readonly entry: string;
  readonly description: string;
  readonly memoryMiB: number;
  readonly timeout: Duration;
  /** Retention of the function's own log group. */
  readonly logRetention: logs.RetentionDays;
  /** What happens to the function's log group when the stack is deleted. */
  readonly logRemovalPolicy: RemovalPolicy;
  /** @default - generated. A fixed name lets a key policy name the group before it exists. */
  readonly logGroupName?: string;
  /** @default - CloudWatch Logs' own encryption. The key's policy must let CloudWatch Logs use it for this group. */
  readonly logEncryptionKey?: kms.IKey;
  readonly environment?: Readonly<Record<string, string>>;
  /** Shell commands run after esbuild, e.g. copying runtime files next to the bundle. */
  readonly afterBundling?: (inputDir: string, outputDir: string) => string[];
  /** @default lambda.Tracing.ACTIVE */
  readonly tracing?: lambda.Tracing;
  readonly vpc?: nodejs.NodejsFunctionProps['vpc'];
  readonly vpcSubnets?: nodejs.NodejsFunctionProps['vpcSubnets'];
  readonly securityGroups?: nodejs.NodejsFunctionProps['securityGroups'];
  /** @default - unreserved */
  readonly reservedConcurrentExecutions?: number;
  /** Role description; the role is created here and may only write this function's logs. */
  readonly roleDescription: string;
  /**
   * The asset's hash, computed over its inputs, where its bytes are not reproducible (the
   * executor's Pyodide snapshot). @default - a hash of the bundled output
   */
  readonly assetHash?: string;
}

/** A NodejsFunction with custody's defaults, its own log group and its own minimal role. */
export class CustodyFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: CustodyFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
      ...(props.logGroupName === undefined ? {} : { logGroupName: props.logGroupName }),
      ...(props.logEncryptionKey === undefined ? {} : { encryptionKey: props.logEncryptionKey }),
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.roleDescription,
    });
    // The log group exists, so CreateLogGroup is not granted; the ARN ends in `:*` (its streams).
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    const afterBundling = props.afterBundling;
    const tracing = props.tracing ?? lambda.Tracing.ACTIVE;
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: packageFile(props.entry),
      handler: 'handler',
      // esbuild runs in the package's folder and resolves its dependencies from there.
      projectRoot: PACKAGE_ROOT,
      depsLockFilePath: lockFileOf(),
      description: props.description,
      runtime: CUSTODY_RUNTIME,
      architecture: lambdaArchitecture(architectureOf(this)),
      memorySize: props.memoryMiB,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing,
      environment: { ...props.environment },
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
      allowPublicSubnet: false,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      bundling: {
        forceDockerBundling: false,
        ...(props.assetHash ? { assetHash: props.assetHash } : {}),
        format: nodejs.OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // Bundle the AWS SDK at the versions package-lock.json pins instead of using whatever
        // version the Lambda runtime happens to ship.
        bundleAwsSDK: true,
        externalModules: [],
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir, outputDir) => afterBundling?.(inputDir, outputDir) ?? [],
        },
      },
    });

    const pinnedRuntime =
      'The runtime is pinned on purpose (CUSTODY_RUNTIME): the sandboxes and the bundle are tested ' +
      'on Node.js 22, and moving to a newer runtime is a reviewed change, not a side effect.';
    Validations.of(this.function).acknowledge(
      { id: 'AwsSolutions::AwsSolutions-L1', reason: pinnedRuntime },
      { id: 'Serverless::Serverless-LambdaLatestVersion', reason: pinnedRuntime },
    );
    if (tracing === lambda.Tracing.ACTIVE) {
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        reason:
          'Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, which X-Ray ' +
          'does not scope to resources; they allow sending trace data only.',
      });
    }
  }
}
