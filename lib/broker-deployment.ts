/**
 * How the broker learns where each profile's execution role and executor are, without passing
 * Lambda's 4 KB limit on a function's environment: the executors and execution roles get names
 * fixed at synth (a prefix unique to this custody construct, the region for the account-global
 * role names), so the broker's bundle carries them in `deployment.json` and only the account and
 * the partition travel as environment variables. Every limit that can still be passed (the
 * environment, the length of a name) stops synth with an error naming it.
 */
import { createHash } from 'node:crypto';
import { Aws, CfnResource, Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import {
  type DeploymentFile,
  executionRoleName,
  executorFunctionName,
  secretIdsOf,
} from '../lambda/core/deployment.ts';
import type { Policy } from '../lambda/core/policy.ts';

/** Lambda: "the total size of all environment variables doesn't exceed 4 KB". */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;
/** IAM role names: at most 64 characters. */
export const IAM_ROLE_NAME_LIMIT = 64;
/** Lambda function names: at most 64 characters. */
const LAMBDA_FUNCTION_NAME_LIMIT = 64;

/**
 * The longest a pseudo parameter can be; any other reference whose type does not bound it (below)
 * is taken at 512 (a CloudWatch log group name's limit, the longest name the broker is given).
 */
const PSEUDO_MAX_LENGTH: Record<string, number> = {
  'AWS::AccountId': 12,
  'AWS::Partition': 10, // aws-iso-b, aws-iso-f, aws-us-gov
  'AWS::Region': 14, // ap-southeast-4, eusc-de-east-1
  'AWS::URLSuffix': 14,
};
const UNKNOWN_REFERENCE_MAX_LENGTH = 512;

/**
 * The longest a reference to a resource of a known type can be (`Ref`, and `Fn::GetAtt` `Arn`),
 * from the services' own limits: a table name 255, a bucket name 63, a KMS key id 40 (`mrk-` and
 * a UUID) and its ARN `arn:<partition>:kms:<region>:<account>:key/<id>` at most 10 + 14 + 12 + 40
 * plus 15 of punctuation.
 */
const REFERENCE_MAX_LENGTH: Record<string, { readonly Ref?: number; readonly Arn?: number }> = {
  'AWS::DynamoDB::Table': { Ref: 255 },
  'AWS::S3::Bucket': { Ref: 63 },
  'AWS::KMS::Key': { Ref: 40, Arn: 91 },
};

/** The type of each resource in `stack`, by logical id. */
function resourceTypes(stack: Stack): Map<string, string> {
  const types = new Map<string, string>();
  for (const c of stack.node.findAll()) {
    if (c instanceof CfnResource) types.set(stack.getLogicalId(c), c.cfnResourceType);
  }
  return types;
}

/** The longest a resolved CloudFormation value (string or intrinsic) can be once deployed. */
export function maxDeployedLength(value: unknown, types: ReadonlyMap<string, string> = new Map()): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value).length;
  const intrinsic = value as Record<string, unknown> | null;
  const join = intrinsic?.['Fn::Join'] as [string, unknown[]] | undefined;
  if (join !== undefined) {
    const [separator, parts] = join;
    return (
      parts.reduce<number>((sum, part) => sum + maxDeployedLength(part, types), 0) +
      Buffer.byteLength(separator) * Math.max(0, parts.length - 1)
    );
  }
  const ref = intrinsic?.Ref;
  if (typeof ref === 'string') {
    return (
      PSEUDO_MAX_LENGTH[ref] ??
      REFERENCE_MAX_LENGTH[types.get(ref) ?? '']?.Ref ??
      UNKNOWN_REFERENCE_MAX_LENGTH
    );
  }
  const getAtt = intrinsic?.['Fn::GetAtt'];
  if (Array.isArray(getAtt) && getAtt[1] === 'Arn') {
    return REFERENCE_MAX_LENGTH[types.get(String(getAtt[0])) ?? '']?.Arn ?? UNKNOWN_REFERENCE_MAX_LENGTH;
  }
  return UNKNOWN_REFERENCE_MAX_LENGTH;
}

/** The longest `text` (which may hold tokens) can be once deployed. */
function maxResolvedLength(scope: Construct, text: string): number {
  return maxDeployedLength(Stack.of(scope).resolve(text));
}

/** A prefix unique to the custody construct `scope` belongs to: `custody-<8 hex>-`. */
export function profileNamePrefix(custodyScope: Construct): string {
  const stack = Stack.of(custodyScope);
  const digest = createHash('sha256').update(`${stack.stackName}/${custodyScope.node.path}`).digest('hex');
  return `custody-${digest.slice(0, 8)}-`;
}

/** What the broker's bundle carries as `deployment.json`. */
export function deploymentFileOf(policy: Policy, prefix: string): DeploymentFile {
  return {
    schemaVersion: 1,
    functionNamePrefix: prefix,
    roleNamePrefix: prefix,
    profiles: Object.fromEntries(
      Object.entries(policy.profiles).map(([name, profile]) => [name, { secrets: secretIdsOf(profile) }]),
    ),
  };
}

/**
 * Names a profile's executor and execution role as `deployment.json` says; throws, naming the
 * limit, if a name could pass it in some region.
 */
export function nameProfileResources(
  file: DeploymentFile,
  profile: string,
  executor: lambda.IFunction,
  role: iam.IRole,
): void {
  const functionName = executorFunctionName(file, profile);
  const roleName = executionRoleName(file, Aws.REGION, profile);
  const roleNameMax = maxResolvedLength(role, roleName);
  if (roleNameMax > IAM_ROLE_NAME_LIMIT) {
    throw new Error(
      `The execution role name of profile ${profile} can reach ${roleNameMax} characters, past IAM's ` +
        `limit of ${IAM_ROLE_NAME_LIMIT} for role names: use a shorter profile name.`,
    );
  }
  if (functionName.length > LAMBDA_FUNCTION_NAME_LIMIT) {
    throw new Error(
      `The executor name of profile ${profile} has ${functionName.length} characters, past Lambda's ` +
        `limit of ${LAMBDA_FUNCTION_NAME_LIMIT} for function names: use a shorter profile name.`,
    );
  }
  (executor.node.defaultChild as lambda.CfnFunction).functionName = functionName;
  (role.node.defaultChild as iam.CfnRole).roleName = roleName;
}

/** The most bytes `fn`'s environment variables (names and values) can take once deployed. */
export function environmentMaxBytes(fn: lambda.Function): number {
  const cfn = fn.node.defaultChild as lambda.CfnFunction;
  // The L1 property in its CDK shape (`variables`), with the tokens resolved to intrinsics.
  const resolved = Stack.of(fn).resolve(cfn.environment) as
    | { variables?: Record<string, unknown> }
    | undefined;
  const types = resourceTypes(Stack.of(fn));
  let bytes = 0;
  for (const [key, value] of Object.entries(resolved?.variables ?? {})) {
    bytes += Buffer.byteLength(key) + maxDeployedLength(value, types);
  }
  return bytes;
}

/**
 * Adds a synth-time check that `fn`'s environment stays under Lambda's 4 KB once deployed, with
 * every token taken at its longest.
 */
export function checkEnvironmentSize(fn: lambda.Function): void {
  fn.node.addValidation({
    validate: () => {
      const bytes = environmentMaxBytes(fn);
      if (bytes <= LAMBDA_ENVIRONMENT_LIMIT_BYTES) return [];
      return [
        `The environment of ${fn.node.path} can reach ${bytes} bytes once deployed, past Lambda's ` +
          `limit of ${LAMBDA_ENVIRONMENT_LIMIT_BYTES} bytes (4 KB) for a function's environment variables.`,
      ];
    },
  });
}
