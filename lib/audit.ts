/**
 * The audit trail: a DynamoDB table (the queryable record), a CloudWatch log group (the same
 * records as JSON lines), and a scheduled digester that seals what was written with an
 * asymmetric KMS signature so tampering can be detected.
 */
import { ArnFormat, Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambdaDestinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AUDIT_TABLE } from '../lambda/core/audit-table.ts';
import { DIGESTER_ENV } from '../lambda/core/env-names.ts';
import { CustodyFunction } from './bundling/lambda-defaults.ts';

export interface CustodyAuditProps {
  /** Retention of the audit log group. */
  readonly auditLogRetention: logs.RetentionDays;
  /** Retention of the digester's own (operational) log group. */
  readonly logRetention: logs.RetentionDays;
  /**
   * Applies to the audit log group and both keys; the table gets it too, except that
   * RETAIN_ON_UPDATE_OR_DELETE becomes RETAIN there (see `tableRemovalPolicy`).
   */
  readonly auditRemovalPolicy: RemovalPolicy;
  /** What happens to operational log groups when the stack is deleted. */
  readonly logRemovalPolicy: RemovalPolicy;
  /** How often the digester seals new audit records. */
  readonly digestInterval: Duration;
}

/**
 * `/custody/<stack name>/audit-<the unique suffix of the stack id>`: the stack id
 * (`arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>`) is new for every stack created
 * under that name, so the group of a deleted stack (retained) never collides with a new one.
 */
function auditLogGroupNameOfStack(stack: Stack): string {
  return custodyLogGroupNameOfStack(stack, 'audit');
}

/** `/custody/<stack name>/<purpose>-<the unique suffix of the stack id>` (see above). */
export function custodyLogGroupNameOfStack(stack: Stack, purpose: string): string {
  const uniqueId = Fn.select(2, Fn.split('/', stack.stackId));
  return `/custody/${stack.stackName}/${purpose}-${uniqueId}`;
}

/**
 * The table's removal policy. RETAIN_ON_UPDATE_OR_DELETE would make a rolled-back create delete
 * the table, which deletion protection refuses, leaving the stack in ROLLBACK_FAILED; plain RETAIN
 * keeps a rolled-back table instead. The table's name is generated, so a kept table never blocks
 * a retry (delete it deliberately: docs/deploy.md, teardown).
 */
export function tableRemovalPolicy(policy: RemovalPolicy): RemovalPolicy {
  return policy === RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE ? RemovalPolicy.RETAIN : policy;
}

/** Credential patterns the audit log masks (on top of the broker's own redaction). */
const ACCESS_KEY_ID = new logs.CustomDataIdentifier('AwsAccessKeyId', '(AKIA|ASIA)[A-Z0-9]{16}');

export class CustodyAudit extends Construct {
  /** Customer-managed key encrypting the table and the audit log group. */
  readonly auditKey: kms.Key;
  readonly auditTable: dynamodb.Table;
  readonly auditLogGroup: logs.LogGroup;
  /** ECC_NIST_P256 SIGN_VERIFY key the digester signs with; its public key verifies digests. */
  readonly signingKey: kms.Key;
  readonly digestFunction: CustodyFunction;
  /** Receives digester invocations that failed after retries. */
  readonly digestFailures: sqs.Queue;

  constructor(scope: Construct, id: string, props: CustodyAuditProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.auditKey = new kms.Key(this, 'AuditKey', {
      description: 'custody: encrypts the audit table and the audit log group',
      enableKeyRotation: true,
      removalPolicy: props.auditRemovalPolicy,
    });

    this.auditTable = new dynamodb.Table(this, 'AuditTable', {
      partitionKey: { name: AUDIT_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: AUDIT_TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.auditKey,
      deletionProtection: true,
      removalPolicy: tableRemovalPolicy(props.auditRemovalPolicy),
      stream: dynamodb.StreamViewType.NEW_IMAGE,
    });
    for (const index of [AUDIT_TABLE.byTimeIndex, AUDIT_TABLE.byCallerIndex]) {
      this.auditTable.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }

    // A name derived from the stack lets the key policy name this exact log group (a generated
    // name would make the key and the group depend on each other). The stack id's unique part
    // makes it differ per stack incarnation: a group retained by `cdk destroy` never blocks the
    // next deploy of the same stack with "already exists".
    const auditLogGroupName = auditLogGroupNameOfStack(stack);
    this.allowLogsToEncrypt('CloudWatchLogsEncryptsTheAuditLogGroup', auditLogGroupName);
    this.auditLogGroup = new logs.LogGroup(this, 'AuditLogGroup', {
      logGroupName: auditLogGroupName,
      retention: props.auditLogRetention,
      encryptionKey: this.auditKey,
      removalPolicy: props.auditRemovalPolicy,
      dataProtectionPolicy: new logs.DataProtectionPolicy({
        name: 'custody-audit-masks-credentials',
        description: 'Masks credentials that reach the audit log despite the broker redaction',
        identifiers: [
          logs.DataIdentifier.AWSSECRETKEY,
          logs.DataIdentifier.OPENSSHPRIVATEKEY,
          logs.DataIdentifier.PGPPRIVATEKEY,
          logs.DataIdentifier.PKCSPRIVATEKEY,
          logs.DataIdentifier.PUTTYPRIVATEKEY,
          ACCESS_KEY_ID,
        ],
      }),
    });
    // The log group must exist only after the key allows CloudWatch Logs to use it.
    this.auditLogGroup.node.addDependency(this.auditKey);

    this.signingKey = new kms.Key(this, 'SigningKey', {
      description: 'custody: signs audit digests (verify with its public key)',
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      // Old digests stay verifiable only while the key exists.
      removalPolicy: props.auditRemovalPolicy,
    });

    this.digestFunction = new CustodyFunction(this, 'Digester', {
      entry: 'lambda/handlers/digester.ts',
      description: 'custody: seals new audit records into signed digests',
      roleDescription:
        'custody audit digester: reads and appends to the audit trail, reconciles the audit log into the table, signs digests',
      memoryMiB: 512,
      timeout: Duration.minutes(2),
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      // One digester at a time: a lease item in the table (lambda/adapters/aws/digest-lease.ts), not a
      // reserved concurrency of 1, which new accounts refuse (10 unreserved executions minimum).
      environment: {
        [DIGESTER_ENV.table]: this.auditTable.tableName,
        [DIGESTER_ENV.logGroup]: this.auditLogGroup.logGroupName,
        [DIGESTER_ENV.signingKeyId]: this.signingKey.keyId,
      },
    });
    const digester = this.digestFunction.function;
    // Reads the records to seal (GetItem, Query by time) and appends digest items (PutItem).
    this.grantAuditTable(digester, 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem');
    this.signingKey.grant(digester, 'kms:Sign', 'kms:GetPublicKey');
    this.grantAuditLogWrite(digester);
    // Reconciliation before each digest reads the record lines of the audit log group (and no
    // other): the group's ARN in both forms IAM may be asked about (with and without `:*`).
    iam.Grant.addToPrincipal({
      grantee: digester,
      actions: ['logs:FilterLogEvents'],
      resourceArns: [
        stack.formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: auditLogGroupName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
        this.auditLogGroup.logGroupArn,
      ],
    });

    this.digestFailures = new sqs.Queue(this, 'DigestFailures', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    digester.configureAsyncInvoke({
      onFailure: new lambdaDestinations.SqsDestination(this.digestFailures),
      retryAttempts: 2,
    });
    Validations.of(digester).acknowledge({
      id: 'Serverless::Serverless-LambdaDLQ',
      reason:
        'The digester is invoked asynchronously by its schedule; failed invocations go to the ' +
        'DigestFailures queue through an on-failure destination (the successor of a DLQ).',
    });
    Validations.of(this.digestFailures).acknowledge(
      {
        id: 'AwsSolutions::AwsSolutions-SQS3',
        reason:
          'This queue is the dead-letter target itself (digester on-failure destination and the ' +
          'schedule rule DLQ); a DLQ of a DLQ would only move the same messages.',
      },
      {
        id: 'Serverless::Serverless-SQSRedrivePolicy',
        reason: 'The terminal dead-letter queue: nothing consumes it, operators read it.',
      },
    );
    new events.Rule(this, 'DigestSchedule', {
      description: 'custody: seal new audit records',
      schedule: events.Schedule.rate(props.digestInterval),
      targets: [
        new targets.LambdaFunction(digester, {
          deadLetterQueue: this.digestFailures,
          retryAttempts: 2,
        }),
      ],
    });
  }

  /**
   * Lets `grantee` perform `actions` on the audit table and its two indexes (named, not
   * `index/*`), and use the table's key the way DynamoDB needs on the caller's behalf.
   */
  grantAuditTable(grantee: iam.IGrantable, ...actions: string[]): iam.Grant {
    const table = this.auditTable.tableArn;
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [
        table,
        `${table}/index/${AUDIT_TABLE.byTimeIndex.name}`,
        `${table}/index/${AUDIT_TABLE.byCallerIndex.name}`,
      ],
    });
    this.auditKey.grantEncryptDecrypt(grantee);
    if (Construct.isConstruct(grantee.grantPrincipal)) {
      const reason =
        'The action families CDK grants to use a customer-managed DynamoDB table key ' +
        '(Encrypt/Decrypt/ReEncrypt*/GenerateDataKey*), on the one audit key only.';
      Validations.of(grantee.grantPrincipal).acknowledge(
        { id: 'AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason },
        { id: 'AwsSolutions::AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason },
      );
    }
    return grant;
  }

  /**
   * Lets CloudWatch Logs use the audit key for the one log group named `logGroupName` (the
   * encryption context names the group's ARN), and nothing else. The group must exist only after
   * the key: add a dependency on `auditKey`.
   */
  allowLogsToEncrypt(sid: string, logGroupName: string): void {
    const stack = Stack.of(this);
    this.auditKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid,
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnEquals: {
            'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
              service: 'logs',
              resource: 'log-group',
              resourceName: logGroupName,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
  }

  /** Lets `grantee` append lines to the audit log group (and nothing else there). */
  grantAuditLogWrite(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      resourceArns: [this.auditLogGroup.logGroupArn],
    });
  }
}
