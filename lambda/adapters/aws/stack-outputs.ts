/**
 * Reads a deployed custody stack's outputs (`lambda/core/stack-outputs.ts` names them) with
 * CloudFormation's DescribeStacks: what `custody revoke --stack` and `custody audit --stack` use.
 */
import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  type CustodyStackOutputs,
  type StackOutput,
  StackOutputsError,
  stackOutputsOf,
} from '../../core/stack-outputs.ts';

/** Reads the custody outputs of `stackName`; the error names what is missing. */
export async function readStackOutputs(
  client: CloudFormationClient,
  stackName: string,
): Promise<CustodyStackOutputs> {
  let outputs: readonly StackOutput[];
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
  return stackOutputsOf(stackName, outputs);
}
