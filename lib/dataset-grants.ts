/**
 * #16: what a profile's execution role may do in S3, exactly: for each dataset `s3:GetObject` on
 * `bucket/prefix*` and `s3:ListBucket` on the bucket only for `s3:prefix` like `prefix*`; for its
 * outputs `s3:PutObject` on `bucket/prefix*`. Nothing else (no delete, no read of outputs, no other
 * bucket). The same statements go into the role's permissions boundary. The broker's session policy
 * (`lambda/broker/session.ts`) narrows each call's session to the same.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { Profile } from '../lambda/core/policy.ts';

const objects = (scope: Construct, bucket: string, prefix: string) =>
  `arn:${Stack.of(scope).partition}:s3:::${bucket}/${prefix}*`;

/** The role's S3 statements for the profile's datasets and outputs (none: empty). */
export function datasetStatements(scope: Construct, profile: Profile): iam.PolicyStatement[] {
  const datasets = Object.values(profile.datasets);
  const statements: iam.PolicyStatement[] = [];
  if (datasets.length > 0) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'ReadOwnDatasets',
        actions: ['s3:GetObject'],
        resources: [...new Set(datasets.map((d) => objects(scope, d.bucket, d.prefix)))],
      }),
    );
    const byBucket = new Map<string, Set<string>>();
    for (const d of datasets)
      byBucket.set(d.bucket, (byBucket.get(d.bucket) ?? new Set()).add(`${d.prefix}*`));
    let n = 0;
    for (const [bucket, prefixes] of byBucket) {
      n += 1;
      statements.push(
        new iam.PolicyStatement({
          sid: `ListOwnDatasets${n}`,
          actions: ['s3:ListBucket'],
          resources: [`arn:${Stack.of(scope).partition}:s3:::${bucket}`],
          conditions: { StringLike: { 's3:prefix': [...prefixes] } },
        }),
      );
    }
  }
  const keys = [...new Set(datasets.flatMap((d) => (d.kmsKeyArn ? [d.kmsKeyArn] : [])))];
  if (keys.length > 0) {
    // Objects under a customer-managed key: GetObject makes S3 call kms:Decrypt as this role.
    // Only those keys, and only through S3 in this region.
    statements.push(
      new iam.PolicyStatement({
        sid: 'DecryptOwnDatasetsViaS3',
        actions: ['kms:Decrypt'],
        resources: keys,
        conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(scope).region}.amazonaws.com` } },
      }),
    );
  }
  if (profile.outputs) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'WriteOwnArtifacts',
        actions: ['s3:PutObject'],
        resources: [objects(scope, profile.outputs.bucket, profile.outputs.prefix)],
      }),
    );
  }
  return statements;
}

/** cdk-nag: the `prefix*` wildcards are the grant itself (a prefix, not a bucket-wide `*`). */
export function acknowledgeDatasetWildcards(constructs: readonly Construct[], profile: Profile): void {
  const locations = [...Object.values(profile.datasets), ...(profile.outputs ? [profile.outputs] : [])];
  for (const construct of constructs) {
    for (const { bucket, prefix } of locations) {
      Validations.of(construct).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${bucket}/${prefix}*]`,
        reason: `The objects under the dataset or outputs prefix s3://${bucket}/${prefix} are the grant: a key prefix, never the whole bucket unless the policy says so.`,
      });
    }
  }
}
