import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { BROKER_ENV } from '../../lambda/core/env-names.ts';
import { MAX_SESSION_SECONDS_LIMIT, SWEEP_SESSIONS_EVENT } from '../../lambda/core/session.ts';
import { CustodySessions, SESSION_TABLE, stateExpiryDays } from '../../lib/sessions.ts';
import {
  brokerFunction,
  examplePolicy,
  onlyResource,
  referencedId,
  resourcesOfType,
  type Synthesized,
  sessionKey,
  sessionStateBucket,
  sessionTable,
  synthCustody,
  theResource,
} from './synth.ts';

describe('CustodySessions', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthCustody();
  });

  it('sends the broker the sweep event every five minutes, failures kept in the scheduled jobs’ queue', () => {
    const [brokerId] = brokerFunction(s.json);
    const [, rule] = theResource(s.json, 'AWS::Events::Rule', (p) =>
      String(p.Description).includes('end sessions'),
    );
    expect(rule.Properties.ScheduleExpression).toBe('rate(5 minutes)');
    const [target] = rule.Properties.Targets as Array<{
      Arn: unknown;
      Input: string;
      DeadLetterConfig: { Arn: unknown };
    }>;
    expect(referencedId(target?.Arn)).toBe(brokerId);
    expect(JSON.parse(target!.Input)).toEqual(SWEEP_SESSIONS_EVENT);
    const [queueId] = onlyResource(s.json, 'AWS::SQS::Queue');
    expect(referencedId(target?.DeadLetterConfig.Arn)).toBe(queueId);
  });

  it('keeps session records in a table keyed by session id, listed by principal, with TTL and PITR', () => {
    const [, table] = sessionTable(s.json);
    const [keyId] = sessionKey(s.json);
    expect(table.Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'sessionId', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      },
      DeletionProtectionEnabled: true,
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byPrincipal',
          KeySchema: [
            { AttributeName: 'principalId', KeyType: 'HASH' },
            { AttributeName: 'createdAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
    expect(SESSION_TABLE.byPrincipalIndex.name).toBe('byPrincipal');
    expect(table.DeletionPolicy).toBe('Retain');
  });

  it('has a session key of its own, rotated, apart from the audit key', () => {
    const [, key] = sessionKey(s.json);
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.Properties.KeySpec).toBeUndefined();
    expect(key.DeletionPolicy).toBe('RetainExceptOnCreate');
  });

  it('keeps state in a private, TLS-only, unversioned bucket encrypted with the session key', () => {
    const [bucketId, bucket] = sessionStateBucket(s.json);
    const [keyId] = sessionKey(s.json);
    expect(bucket.Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] },
            },
            BucketKeyEnabled: false,
          },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    // Deleting a session's state deletes it: no versions are kept behind it.
    expect(bucket.Properties.VersioningConfiguration).toBeUndefined();
    s.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Sid: 'DenyStateNotUnderTheSessionKey',
            Effect: 'Deny',
            Action: 's3:PutObject',
            Condition: {
              StringNotEquals: {
                's3:x-amz-server-side-encryption-aws-kms-key-id': { 'Fn::GetAtt': [keyId, 'Arn'] },
              },
            },
          }),
        ]),
      },
    });
  });

  it('expires state objects a day after the longest session the policy allows (a backstop)', () => {
    const [, bucket] = sessionStateBucket(s.json);
    const longest = Math.max(...Object.values(examplePolicy().profiles).map((p) => p.maxSessionSeconds));
    expect(bucket.Properties.LifecycleConfiguration).toEqual({
      Rules: [
        {
          Id: 'ExpireSessionState',
          Prefix: 'sessions/',
          Status: 'Enabled',
          ExpirationInDays: Math.ceil((longest + 86_400) / 86_400),
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        },
      ],
    });
    const profile = (maxSessionSeconds: number) => ({ maxSessionSeconds }) as never;
    expect(stateExpiryDays({ profiles: { a: profile(3600) } })).toBe(2);
    expect(stateExpiryDays({ profiles: { a: profile(60), b: profile(MAX_SESSION_SECONDS_LIMIT) } })).toBe(2);
    expect(stateExpiryDays({ profiles: { a: profile(86_400) } })).toBe(2);
    expect(stateExpiryDays({ profiles: { a: profile(86_401) } })).toBe(3);
  });

  it('logs access to the state bucket into a bucket of its own', () => {
    const [, bucket] = sessionStateBucket(s.json);
    const logging = bucket.Properties.LoggingConfiguration as { DestinationBucketName: unknown };
    const logBucket = s.json.Resources[referencedId(logging.DestinationBucketName)]!;
    expect(logBucket.Type).toBe('AWS::S3::Bucket');
    expect(logBucket.Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, RestrictPublicBuckets: true },
    });
    expect(resourcesOfType(s.json, 'AWS::S3::Bucket')).toHaveLength(2);
  });

  it('tells the broker the session table, the state bucket and the session key', () => {
    const [, broker] = brokerFunction(s.json);
    const env = (broker.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).toMatchObject({
      [BROKER_ENV.sessionTable]: { Ref: sessionTable(s.json)[0] },
      [BROKER_ENV.sessionBucket]: { Ref: sessionStateBucket(s.json)[0] },
      [BROKER_ENV.sessionKeyArn]: { 'Fn::GetAtt': [sessionKey(s.json)[0], 'Arn'] },
    });
  });
});

describe('CustodySessions in an app without custody’s feature flags', () => {
  it('has S3 deliver the access logs by bucket policy, never an ACL, whatever the app sets', () => {
    // A team's app has its own cdk.json (or none): without the bucket-policy flag, CDK would ask for
    // a LogDeliveryWrite ACL, which a bucket that owns its objects (ACLs off) refuses at synth.
    const app = new App();
    const stack = new Stack(app, 'TeamStack');
    new CustodySessions(stack, 'Sessions', { policy: examplePolicy(), removalPolicy: RemovalPolicy.DESTROY });
    const template = Template.fromStack(stack);
    for (const bucket of Object.values(template.findResources('AWS::S3::Bucket'))) {
      expect(bucket.Properties?.AccessControl).toBeUndefined();
    }
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'logging.s3.amazonaws.com' }, Action: 's3:PutObject' }),
        ]),
      },
    });
  });
});
