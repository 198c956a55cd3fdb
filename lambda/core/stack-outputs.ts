/**
 * What `custody revoke` reads from the deployed stack: the audit table (where the kill switch's
 * state and the audit records live) and, per profile, the execution role's name (where the
 * session deny goes). The stack writes these outputs; the names are shared here so the two agree.
 */
import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';

/** The stack output holding the audit table's name (`lib/custody-stack.ts`). */
export const AUDIT_TABLE_OUTPUT = 'AuditTableName';

/** The stack output holding the ARN of the KMS key that signs audit digests (`custody audit verify`). */
export const AUDIT_SIGNING_KEY_OUTPUT = 'AuditSigningKeyArn';

/** The stack output holding the audit log group's name (where the digest anchors are). */
export const AUDIT_LOG_GROUP_OUTPUT = 'AuditLogGroupName';

/**
 * The audit log group of a custody stack deployed before the `AuditLogGroupName` output existed
 * (named after the stack then; `lib/audit.ts` now adds the stack id's unique part, so read the
 * output): where the CLI writes the audit line of a kill-switch action.
 */
export function auditLogGroupNameOf(stackName: string): string {
  return `/custody/${stackName}/audit`;
}

/** The description of the output holding a profile's execution role name (`lib/execution-role.ts`). */
export function roleNameOutputDescription(profile: string): string {
  return `custody execution role name of profile ${profile}`;
}

const ROLE_OUTPUT = /^custody execution role name of profile ([a-z0-9-]+)$/;

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

/** Reads the custody outputs of `stackName`; the error names what is missing. */
export async function readStackOutputs(
  client: CloudFormationClient,
  stackName: string,
): Promise<CustodyStackOutputs> {
  let outputs: { OutputKey?: string; OutputValue?: string; Description?: string }[];
  try {
    const out = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = out.Stacks?.[0];
    if (!stack) throw new StackOutputsError(`stack ${stackName} was not found`);
    outputs = stack.Outputs ?? [];
  } catch (error) {
    if (error instanceof StackOutputsError) throw error;
    const e = error as { name?: string; message?: string };
    throw new StackOutputsError(
      `could not describe stack ${stackName}: ${e.name ?? 'Error'}: ${e.message ?? String(error)}`,
      { cause: error },
    );
  }
  const auditTableName = outputs.find((o) => o.OutputKey === AUDIT_TABLE_OUTPUT)?.OutputValue;
  if (!auditTableName) {
    throw new StackOutputsError(
      `stack ${stackName} has no ${AUDIT_TABLE_OUTPUT} output: is it a custody stack?`,
    );
  }
  const roleNames: Record<string, string> = {};
  for (const output of outputs) {
    const profile = ROLE_OUTPUT.exec(output.Description ?? '')?.[1];
    if (profile !== undefined && output.OutputValue) roleNames[profile] = output.OutputValue;
  }
  const outputValue = (key: string) => outputs.find((o) => o.OutputKey === key)?.OutputValue || undefined;
  const auditSigningKeyArn = outputValue(AUDIT_SIGNING_KEY_OUTPUT);
  const auditLogGroupName = outputValue(AUDIT_LOG_GROUP_OUTPUT);
  return {
    auditTableName,
    roleNames,
    ...(auditSigningKeyArn === undefined ? {} : { auditSigningKeyArn }),
    ...(auditLogGroupName === undefined ? {} : { auditLogGroupName }),
  };
}
