import { IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import {
  REVOKE_POLICY_NAME,
  RoleRevocationError,
  revokeOlderSessionsPolicy,
  revokeRoleSessions,
} from '../../../lambda/adapters/aws/iam-session-revocation.ts';

const ACCOUNT = '111122223333';
const INSTANT = new Date('2030-01-01T12:00:00.000Z');
const EXECUTOR = `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:custody-executor-sandbox`;
const SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/custody-exec-sandbox/agent@01HZX`;

/** The execution role's own grant, as lib/execution-role.ts writes it. */
const ROLE_POLICY = {
  Version: '2012-10-17',
  Statement: [
    { Sid: 'InvokeOwnExecutor', Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: EXECUTOR },
  ],
};

async function invokeBySessionIssuedAt(issuedAt: string, withDeny: boolean): Promise<string> {
  const simulation: Simulation = {
    request: {
      principal: SESSION,
      action: 'lambda:InvokeFunction',
      resource: { resource: EXECUTOR, accountId: ACCOUNT },
      contextVariables: { 'aws:TokenIssueTime': issuedAt },
    },
    identityPolicies: [
      { name: 'role', policy: ROLE_POLICY },
      ...(withDeny
        ? [{ name: REVOKE_POLICY_NAME, policy: JSON.parse(revokeOlderSessionsPolicy(INSTANT)) }]
        : []),
    ],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
  return result.overallResult;
}

describe('The session deny on a revoked profile role', () => {
  it('denies a session issued before the instant the invoke its role allows', async () => {
    expect(await invokeBySessionIssuedAt('2030-01-01T11:59:59Z', false)).toBe('Allowed');
    expect(await invokeBySessionIssuedAt('2030-01-01T11:59:59Z', true)).toBe('ExplicitlyDenied');
  });

  it('lets a session issued after the instant invoke as before', async () => {
    expect(await invokeBySessionIssuedAt('2030-01-01T12:00:01Z', true)).toBe('Allowed');
  });

  it('is the document the IAM console writes, with custody’s instant', () => {
    expect(JSON.parse(revokeOlderSessionsPolicy(INSTANT))).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'RevokeOlderSessions',
          Effect: 'Deny',
          Action: ['*'],
          Resource: ['*'],
          Condition: { DateLessThan: { 'aws:TokenIssueTime': '2030-01-01T12:00:00.000Z' } },
        },
      ],
    });
  });
});

describe('revokeRoleSessions', () => {
  const iam = mockClient(IAMClient);
  afterEach(() => iam.reset());

  it('puts the deny inline on the role, under custody’s policy name', async () => {
    iam.on(PutRolePolicyCommand).resolves({});
    await revokeRoleSessions(
      new IAMClient({ region: 'eu-west-1' }),
      'Custody-ExecutionRolesandbox-ABC',
      INSTANT,
    );
    expect(iam).toHaveReceivedCommandTimes(PutRolePolicyCommand, 1);
    expect(iam).toHaveReceivedCommandWith(PutRolePolicyCommand, {
      RoleName: 'Custody-ExecutionRolesandbox-ABC',
      PolicyName: 'custody-revoke-older-sessions',
      PolicyDocument: revokeOlderSessionsPolicy(INSTANT),
    });
  });

  it('names the role and IAM’s reason when the put is refused', async () => {
    iam.on(PutRolePolicyCommand).rejects(
      Object.assign(new Error('User: ops is not authorized to perform: iam:PutRolePolicy'), {
        name: 'AccessDenied',
      }),
    );
    const error = await revokeRoleSessions(new IAMClient({ region: 'eu-west-1' }), 'R1', INSTANT).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RoleRevocationError);
    expect((error as Error).message).toBe(
      'could not put the session deny on role R1: AccessDenied: User: ops is not authorized to perform: iam:PutRolePolicy',
    );
  });
});
