import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { readStackOutputs } from '../../../lambda/adapters/aws/stack-outputs.ts';
import { roleNameOutputKey, StackOutputsError } from '../../../lambda/core/stack-outputs.ts';

const cfn = mockClient(CloudFormationClient);
afterEach(() => cfn.reset());
const client = () => new CloudFormationClient({ region: 'eu-west-1' });

describe('readStackOutputs', () => {
  it('describes the named stack and reads its outputs by key', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'Custody',
          CreationTime: new Date(0),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [
            { OutputKey: 'AuditTableName', OutputValue: 'table' },
            { OutputKey: roleNameOutputKey('sandbox'), OutputValue: 'role', Description: 'anything' },
          ],
        },
      ],
    });
    await expect(readStackOutputs(client(), 'Custody')).resolves.toEqual({
      auditTableName: 'table',
      roleNames: { sandbox: 'role' },
    });
    expect(cfn).toReceiveCommandWith(DescribeStacksCommand, { StackName: 'Custody' });
  });

  it('names the stack CloudFormation does not return', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [] });
    await expect(readStackOutputs(client(), 'Gone')).rejects.toThrow('stack Gone was not found');
  });

  it('names the stack and the error when DescribeStacks fails', async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejects(Object.assign(new Error('Stack with id Custody does not exist'), { name: 'ValidationError' }));
    const read = readStackOutputs(client(), 'Custody');
    await expect(read).rejects.toBeInstanceOf(StackOutputsError);
    await expect(read).rejects.toThrow(
      'could not describe stack Custody: ValidationError: Stack with id Custody does not exist',
    );
  });
});
