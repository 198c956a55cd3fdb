/**
 * The outputs the `custody` CLI reads from a deployed stack (`custody revoke --stack`, `custody
 * audit verify|reconcile --stack`), under the keys `lambda/core/stack-outputs.ts` names. They are
 * children of the stack itself, so each key is the output's logical id as written: the CLI finds
 * them by key in any stack a `CustodyConstruct` is in (one per stack).
 */
import { CfnOutput, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { roleNameOutputKey, STACK_OUTPUT_KEYS } from '../lambda/core/stack-outputs.ts';

export interface CustodyStackOutputsProps {
  readonly auditTable: dynamodb.ITable;
  readonly signingKey: kms.IKey;
  readonly auditLogGroup: logs.ILogGroup;
  /** Execution role by profile name. */
  readonly executionRoles: ReadonlyMap<string, iam.IRole>;
}

/** Adds the CLI's outputs to the stack `scope` is in; a second custody construct in it fails, naming the key. */
export function addCustodyStackOutputs(scope: Construct, props: CustodyStackOutputsProps): void {
  const stack = Stack.of(scope);
  const output = (key: string, description: string, value: string) => {
    if (stack.node.tryFindChild(key)) {
      throw new Error(
        `${scope.node.path}: the stack already has an output ${key}; put one CustodyConstruct per stack`,
      );
    }
    new CfnOutput(stack, key, { description, value });
  };
  output(
    STACK_OUTPUT_KEYS.auditTableName,
    'DynamoDB table holding the audit records',
    props.auditTable.tableName,
  );
  output(
    STACK_OUTPUT_KEYS.auditSigningKeyArn,
    'KMS key signing the audit digests (verify them with its public key: kms GetPublicKey)',
    props.signingKey.keyArn,
  );
  output(
    STACK_OUTPUT_KEYS.auditLogGroupName,
    'CloudWatch log group holding every audit record, digest and verification as a JSON line',
    props.auditLogGroup.logGroupName,
  );
  // `custody revoke --profile` puts the session deny on this role.
  for (const [profile, role] of props.executionRoles) {
    output(roleNameOutputKey(profile), `custody execution role name of profile ${profile}`, role.roleName);
  }
}
