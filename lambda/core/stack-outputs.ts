/**
 * The outputs a custody stack carries for the `custody` CLI (revoke, audit verify, reconcile): the
 * audit table, the digest signing key, the audit log group and, per profile, the execution role's
 * name. `lib/stack-outputs.ts` writes them under these keys; `stackOutputsOf` reads them back by
 * key (the AWS reader is `lambda/adapters/aws/stack-outputs.ts`).
 */

/** The stack output holding the audit table's name. */
export const AUDIT_TABLE_OUTPUT = 'AuditTableName';

/** The stack output holding the ARN of the KMS key that signs audit digests (`custody audit verify`). */
export const AUDIT_SIGNING_KEY_OUTPUT = 'AuditSigningKeyArn';

/** The stack output holding the audit log group's name (where the digest anchors are). */
export const AUDIT_LOG_GROUP_OUTPUT = 'AuditLogGroupName';

/** Every output key but a profile's role name, by what it holds. */
export const STACK_OUTPUT_KEYS = {
  auditTableName: AUDIT_TABLE_OUTPUT,
  auditSigningKeyArn: AUDIT_SIGNING_KEY_OUTPUT,
  auditLogGroupName: AUDIT_LOG_GROUP_OUTPUT,
} as const;

/** The start of the key of each profile's role-name output. */
const ROLE_NAME_OUTPUT_PREFIX = 'ExecutionRoleName';

/**
 * The key of the output holding `profile`'s execution role name. An output key is letters and
 * digits only, and profile names are lower-case kebab-case (`lambda/core/policy.ts`), so each `-`
 * is written as `X` (no profile name holds an upper-case letter, so the key reads back to one
 * profile only): `reports` -> `ExecutionRoleNamereports`, `data-reports` -> `ExecutionRoleNamedataXreports`.
 */
export function roleNameOutputKey(profile: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(profile)) {
    throw new Error(`roleNameOutputKey: ${JSON.stringify(profile)} is not a profile name`);
  }
  return `${ROLE_NAME_OUTPUT_PREFIX}${profile.replaceAll('-', 'X')}`;
}

/** The profile whose role name the output `key` holds, or undefined if it holds none. */
export function profileOfRoleNameOutputKey(key: string): string | undefined {
  if (!key.startsWith(ROLE_NAME_OUTPUT_PREFIX)) return undefined;
  const encoded = key.slice(ROLE_NAME_OUTPUT_PREFIX.length);
  return /^[a-z][a-z0-9X]*$/.test(encoded) ? encoded.replaceAll('X', '-') : undefined;
}

/**
 * The audit log group of a custody stack deployed before the `AuditLogGroupName` output existed
 * (named after the stack then; `lib/audit.ts` now adds the stack id's unique part, so read the
 * output): where the CLI writes the audit line of a kill-switch action.
 */
export function auditLogGroupNameOf(stackName: string): string {
  return `/custody/${stackName}/audit`;
}

export interface CustodyStackOutputs {
  readonly auditTableName: string;
  /** The digest signing key's ARN (absent on stacks deployed before the output existed). */
  readonly auditSigningKeyArn?: string;
  /** The audit log group's name (absent on stacks deployed before the output existed). */
  readonly auditLogGroupName?: string;
  /** Execution role name by profile. */
  readonly roleNames: Readonly<Record<string, string>>;
}

export class StackOutputsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StackOutputsError';
  }
}

/** One output as CloudFormation's DescribeStacks returns it. */
export interface StackOutput {
  readonly OutputKey?: string;
  readonly OutputValue?: string;
}

/** The custody outputs among `outputs` of `stackName`, read by key; the error names what is missing. */
export function stackOutputsOf(stackName: string, outputs: readonly StackOutput[]): CustodyStackOutputs {
  const outputValue = (key: string) => outputs.find((o) => o.OutputKey === key)?.OutputValue || undefined;
  const auditTableName = outputValue(AUDIT_TABLE_OUTPUT);
  if (!auditTableName) {
    throw new StackOutputsError(
      `stack ${stackName} has no ${AUDIT_TABLE_OUTPUT} output: is it a custody stack?`,
    );
  }
  const roleNames: Record<string, string> = {};
  for (const output of outputs) {
    const profile = profileOfRoleNameOutputKey(output.OutputKey ?? '');
    if (profile !== undefined && output.OutputValue) roleNames[profile] = output.OutputValue;
  }
  const auditSigningKeyArn = outputValue(AUDIT_SIGNING_KEY_OUTPUT);
  const auditLogGroupName = outputValue(AUDIT_LOG_GROUP_OUTPUT);
  return {
    auditTableName,
    roleNames,
    ...(auditSigningKeyArn === undefined ? {} : { auditSigningKeyArn }),
    ...(auditLogGroupName === undefined ? {} : { auditLogGroupName }),
  };
}
