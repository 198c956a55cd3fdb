/**
 * What `cdk deploy` would have created, named for local mode: one execution role and one
 * executor per profile, and the secret ids each profile reads. The broker receives the same shape
 * on AWS (`Deployment`, lambda/core/deployment.ts); locally it is derived from the policy file.
 */
import { type Deployment, secretIdsOf } from '../../core/deployment.ts';
import { allowedAccounts, type Policy } from '../../core/policy.ts';

/** The broker's deployment (executorArn named as the Lambda function would be; secret ids are names), and where. */
export interface LocalDeployment extends Deployment {
  readonly accountId: string;
  readonly region: string;
}

/** The account local resources live in: the policy's first allowed account (its principals' account). */
function localAccountId(policy: Policy): string {
  return allowedAccounts(policy)[0] ?? '000000000000';
}

export function localDeployment(policy: Policy, region: string): LocalDeployment {
  const accountId = localAccountId(policy);
  const profiles: Deployment['profiles'] = {};
  for (const [name, profile] of Object.entries(policy.profiles)) {
    profiles[name] = {
      roleArn: `arn:aws:iam::${accountId}:role/custody-exec-${name}`,
      executorArn: `arn:aws:lambda:${region}:${accountId}:function:custody-executor-${name}`,
      secrets: secretIdsOf(profile),
    };
  }
  return { accountId, region, profiles };
}

/** The profile whose execution role this is, if any. */
export function profileOfRole(deployment: LocalDeployment, roleArn: string): string | undefined {
  return Object.entries(deployment.profiles).find(([, p]) => p.roleArn === roleArn)?.[0];
}
