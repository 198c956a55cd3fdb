/**
 * Sessions (#15) on AWS: the session table (one record per session: status, counts, the wrapped
 * data key and the sealed secrets), the state bucket (one SSE-KMS object per session,
 * `sessions/<sessionId>/state`), and the session key both are encrypted with and each session's
 * data key comes from.
 *
 * Who may do what:
 * - the broker reads and writes the table; makes and unwraps data keys only with the encryption
 *   context `{ custody:session-id, custody:principal }`; deletes state objects; never reads one.
 * - each profile's execution role may get and put only `sessions/${aws:PrincipalTag/custody:session-id}/*`
 *   (the broker tags each call's role session with its session id), using the key only through S3
 *   and only for that prefix; no listing, no deleting.
 * Expiry is enforced by the broker on every access; DynamoDB TTL (`ttl`) and a lifecycle rule on
 * `sessions/` are the backstops.
 */
import { Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import type { Policy } from '../lambda/core/policy.ts';
import { TAG_SESSION_ID } from '../lambda/core/session.ts';
import { tableRemovalPolicy } from './audit.ts';

/** The session table's shape, as the session store reads and writes it. */
export const SESSION_TABLE = {
  partitionKey: 'sessionId',
  byPrincipalIndex: { name: 'byPrincipal', partitionKey: 'principalId', sortKey: 'createdAt' },
  /** Epoch seconds after which DynamoDB may delete the record (a backstop to the broker's sweep). */
  ttlAttribute: 'ttl',
} as const;

/** Where a session's state lives in the bucket: `sessions/<sessionId>/state`. */
const SESSION_STATE_PREFIX = 'sessions/';

/**
 * The data keys' encryption context keys (lambda/adapters/aws/kms-session-key-vault.ts): the
 * broker's key grant requires exactly these.
 */
export const SESSION_KEY_CONTEXT_KEYS = [TAG_SESSION_ID, 'custody:principal'] as const;

/** The state prefix an execution role session may touch: the one its session tag names. */
const OWN_SESSION_PREFIX = `${SESSION_STATE_PREFIX}\${aws:PrincipalTag/${TAG_SESSION_ID}}/*`;

/** Days after which the lifecycle rule deletes a state object: the longest session plus a day. */
export function stateExpiryDays(policy: Pick<Policy, 'profiles'>): number {
  const longest = Math.max(0, ...Object.values(policy.profiles).map((p) => p.maxSessionSeconds));
  return Math.ceil((longest + 86_400) / 86_400);
}

export interface CustodySessionsProps {
  readonly policy: Policy;
  /** Applies to the key, the buckets and the table (RETAIN_ON_UPDATE_OR_DELETE becomes RETAIN there). */
  readonly removalPolicy: RemovalPolicy;
  /** How long the state bucket's access logs are kept. @default Duration.days(365) */
  readonly accessLogExpiry?: Duration;
}

export class CustodySessions extends Construct {
  /** Encrypts the table and the state objects; each session's data key is generated under it. */
  readonly key: kms.Key;
  readonly table: dynamodb.Table;
  readonly stateBucket: s3.Bucket;
  /** Server access logs of the state bucket: who read or wrote which session's state. */
  readonly accessLogBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: CustodySessionsProps) {
    super(scope, id);
    // S3 delivers the access logs under a bucket policy, never an ACL (the access log bucket owns
    // its objects, ACLs off), whatever feature flags the app that uses this construct sets.
    this.node.setContext(cxapi.S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);

    this.key = new kms.Key(this, 'SessionKey', {
      description: 'custody: encrypts session records and state; wraps each session data key',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });

    this.table = new dynamodb.Table(this, 'SessionTable', {
      partitionKey: { name: SESSION_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      timeToLiveAttribute: SESSION_TABLE.ttlAttribute,
      deletionProtection: true,
      removalPolicy: tableRemovalPolicy(props.removalPolicy),
    });
    this.table.addGlobalSecondaryIndex({
      indexName: SESSION_TABLE.byPrincipalIndex.name,
      partitionKey: {
        name: SESSION_TABLE.byPrincipalIndex.partitionKey,
        type: dynamodb.AttributeType.STRING,
      },
      sortKey: { name: SESSION_TABLE.byPrincipalIndex.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });

    // Server access logs cannot be written to a bucket encrypted with a customer-managed key.
    this.accessLogBucket = new s3.Bucket(this, 'StateAccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      lifecycleRules: [{ expiration: props.accessLogExpiry ?? Duration.days(365) }],
      removalPolicy: props.removalPolicy,
    });
    Validations.of(this.accessLogBucket).acknowledge({
      id: 'AwsSolutions::AwsSolutions-S1',
      reason: 'This bucket is the target of the state bucket access logs; logging it into itself would loop.',
    });

    this.stateBucket = new s3.Bucket(this, 'StateBucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      // Without a bucket key, S3 asks KMS per object with the object's ARN as context, which the
      // execution role's key grant is conditioned on (its own session's prefix only).
      bucketKeyEnabled: false,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      // No versioning: ending a session deletes its state for real.
      versioned: false,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'state/',
      lifecycleRules: [
        {
          id: 'ExpireSessionState',
          prefix: SESSION_STATE_PREFIX,
          expiration: Duration.days(stateExpiryDays(props.policy)),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: props.removalPolicy,
    });
    // Every state object is written under the session key, named: no SSE-S3, no other key.
    this.stateBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyStateNotUnderTheSessionKey',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [this.stateBucket.arnForObjects('*')],
        conditions: {
          StringNotEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': this.key.keyArn },
        },
      }),
    );
  }

  /**
   * The broker: reads and writes the session table (through DynamoDB, which uses the key on its
   * behalf); makes and unwraps data keys with exactly the session context; deletes state objects.
   */
  grantBroker(grantee: iam.IGrantable): void {
    const region = Stack.of(this).region;
    const table = this.table.tableArn;
    iam.Grant.addToPrincipal({
      grantee,
      actions: [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:Query',
        'dynamodb:Scan',
      ],
      resourceArns: [table, `${table}/index/${SESSION_TABLE.byPrincipalIndex.name}`],
    });
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
      resourceArns: [this.key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${region}.amazonaws.com` } },
    });
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resourceArns: [this.key.keyArn],
      conditions: {
        // Both context keys present, and no other: not S3's `aws:s3:arn`, not DynamoDB's.
        Null: Object.fromEntries(
          SESSION_KEY_CONTEXT_KEYS.map((k) => [`kms:EncryptionContext:${k}`, 'false']),
        ),
        'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': [...SESSION_KEY_CONTEXT_KEYS] },
      },
    });
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:DeleteObject'],
      resourceArns: [this.stateBucket.arnForObjects(`${SESSION_STATE_PREFIX}*`)],
    });
    if (Construct.isConstruct(grantee.grantPrincipal)) {
      Validations.of(grantee.grantPrincipal).acknowledge(
        {
          id: 'AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
          reason:
            'The key actions DynamoDB needs for a customer-managed table key, on the session key, only via DynamoDB.',
        },
        {
          id: 'AwsSolutions::AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
          reason:
            'The key actions DynamoDB needs for a customer-managed table key, on the session key, only via DynamoDB.',
        },
        {
          id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.stateBucket.node.defaultChild as s3.CfnBucket)}.Arn>/sessions/*]`,
          reason:
            'Ending a session deletes its state object, whose key holds the session id; deleting is all the broker may do there.',
        },
      );
    }
  }

  /**
   * What an execution role may do with session state: get and put the objects of the session its
   * role session is tagged with, using the session key only through S3 for those objects. Added to
   * the role's policy and its permissions boundary (lib/execution-role.ts).
   */
  executionRoleStatements(): iam.PolicyStatement[] {
    const region = Stack.of(this).region;
    const ownObjects = this.stateBucket.arnForObjects(OWN_SESSION_PREFIX);
    return [
      new iam.PolicyStatement({
        sid: 'ReadWriteOwnSessionState',
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [ownObjects],
      }),
      new iam.PolicyStatement({
        sid: 'UseSessionKeyViaS3ForOwnSessionState',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `s3.${region}.amazonaws.com` },
          StringLike: { 'kms:EncryptionContext:aws:s3:arn': ownObjects },
        },
      }),
    ];
  }

  /** The nag finding of `executionRoleStatements`' resource, acknowledged on `construct`. */
  acknowledgeOwnSessionPrefix(construct: Construct): void {
    const bucketId = Stack.of(this).getLogicalId(this.stateBucket.node.defaultChild as s3.CfnBucket);
    Validations.of(construct).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/sessions/<aws:PrincipalTag/${TAG_SESSION_ID}>/*]`,
      reason:
        'Objects of the one session the role session is tagged with: the prefix is the tag, the rest is that session’s state.',
    });
  }
}
