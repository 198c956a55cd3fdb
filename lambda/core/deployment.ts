/**
 * The broker's deployment description, as a file in its bundle (`deployment.json`) instead of an
 * environment variable: Lambda caps a function's environment at 4 KB, which about 12 profiles'
 * ARNs passed. The file holds what synth knows (profiles, secret names, how the executors and
 * execution roles are named); the ARNs are completed at cold start from the region, the account
 * and the partition, the only deploy-time values (two short variables, and AWS_REGION).
 */
import { z } from 'zod';
import type { Profile } from './policy.ts';
import { firstIssue } from './zod-issues.ts';

/** The file's name in the broker's bundle. */
export const DEPLOYMENT_FILE = 'deployment.json';

/** variable -> secret id (a name in the file and locally, an ARN or a name on AWS). */
const secretIds = z.record(z.string(), z.string().min(1)).default({});

const ARN = z.string().regex(/^arn:aws[a-z-]*:[a-z0-9-]+:/, 'must be an ARN');

/**
 * Where each profile was deployed: what the broker works with (the policy says what a profile may
 * do; this says where its role and executor are). Resolved from the file on AWS, passed inline as
 * `CUSTODY_DEPLOYMENT` by tests, derived from the policy in local mode.
 */
export const deploymentSchema = z.strictObject({
  profiles: z.record(
    z.string(),
    z.strictObject({
      /** The profile's execution role. */
      roleArn: ARN,
      /** The profile's executor function. */
      executorArn: ARN,
      secrets: secretIds,
    }),
  ),
});

export type Deployment = z.infer<typeof deploymentSchema>;

/** One profile of the deployment: its role, its executor, and its secrets' ids. */
export type DeploymentProfile = Deployment['profiles'][string];

/** A profile's secrets as the deployment carries them: variable -> secret name. */
export function secretIdsOf(profile: Pick<Profile, 'secrets'>): Record<string, string> {
  return Object.fromEntries(profile.secrets.map((s) => [s.variable, s.secretName]));
}

const deploymentFileSchema = z.strictObject({
  schemaVersion: z.literal(1),
  /** Executor function name: `<functionNamePrefix><profile>`. */
  functionNamePrefix: z.string().min(1),
  /** Execution role name: `<roleNamePrefix><region>-<profile>`. */
  roleNamePrefix: z.string().min(1),
  profiles: z.record(z.string(), z.strictObject({ secrets: secretIds })),
});

export type DeploymentFile = z.infer<typeof deploymentFileSchema>;

export function executorFunctionName(
  file: Pick<DeploymentFile, 'functionNamePrefix'>,
  profile: string,
): string {
  return `${file.functionNamePrefix}${profile}`;
}

export function executionRoleName(
  file: Pick<DeploymentFile, 'roleNamePrefix'>,
  region: string,
  profile: string,
): string {
  return `${file.roleNamePrefix}${region}-${profile}`;
}

export interface DeployedIn {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}

/** Parses the file; the message names the bad field (`deployment.json: profiles.reports.secrets`). */
export function parseDeploymentFile(text: string, where: string): DeploymentFile {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new Error(`${where} is not valid JSON`);
  }
  const parsed = deploymentFileSchema.safeParse(document);
  if (parsed.success) return parsed.data;
  throw new Error(`${where}: ${firstIssue(parsed.error, { root: '' })}`);
}

/** The ARNs of each profile's execution role and executor, where the stack was deployed. */
export function resolveDeployment(file: DeploymentFile, where: DeployedIn): Deployment {
  const { partition, region, account } = where;
  return {
    profiles: Object.fromEntries(
      Object.entries(file.profiles).map(([name, p]) => [
        name,
        {
          roleArn: `arn:${partition}:iam::${account}:role/${executionRoleName(file, region, name)}`,
          executorArn: `arn:${partition}:lambda:${region}:${account}:function:${executorFunctionName(file, name)}`,
          secrets: p.secrets,
        },
      ]),
    ),
  };
}
