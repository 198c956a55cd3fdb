/**
 * What `cdk deploy` would have created, named for local mode: one execution role and one
 * executor per profile, and the secret ids each profile reads. The broker receives the same shape
 * on AWS (from the stack's environment); locally it is derived from the policy file.
 */
import { allowedAccounts, type Policy } from '../../core/policy.ts';

export interface LocalDeploymentProfile {
  /** The profile's execution role (the role the broker assumes for each execution). */
  readonly roleArn: string;
  /** The profile's executor (in-process locally; named as the Lambda function would be). */
  readonly executorArn: string;
  /** Variable -> secret id (the secret's name locally). */
  readonly secrets: Readonly<Record<string, string>>;
}

export interface LocalDeployment {
  readonly accountId: string;
  readonly region: string;
  readonly profiles: Readonly<Record<string, LocalDeploymentProfile>>;
}

/** The account local resources live in: the policy's first allowed account (its principals' account). */
export function localAccountId(policy: Policy): string {
  return allowedAccounts(policy)[0] ?? '000000000000';
}

export function localDeployment(policy: Policy, region: string): LocalDeployment {
  const accountId = localAccountId(policy);
  const profiles: Record<string, LocalDeploymentProfile> = {};
  for (const [name, profile] of Object.entries(policy.profiles)) {
    profiles[name] = {
      roleArn: `arn:aws:iam::${accountId}:role/custody-exec-${name}`,
      executorArn: `arn:aws:lambda:${region}:${accountId}:function:custody-executor-${name}`,
      secrets: Object.fromEntries(profile.secrets.map((s) => [s.variable, s.secretName])),
    };
  }
  return { accountId, region, profiles };
}

/** The profile whose execution role this is, if any. */
export function profileOfRole(deployment: LocalDeployment, roleArn: string): string | undefined {
  return Object.entries(deployment.profiles).find(([, p]) => p.roleArn === roleArn)?.[0];
}
