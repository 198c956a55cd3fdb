/**
 * IAM evaluated, not just read: the synthesized policies, resolved to concrete ARNs, run through
 * an IAM policy simulator (@cloud-copilot/iam-simulate) for the requests that matter.
 */
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { beforeAll, describe, expect, it } from 'vitest';
import { CfnResolver, WORLD } from './cfn-resolve.ts';
import {
  brokerFunction,
  executionRole,
  executorFunction,
  identityStatementsOfRole,
  referencedId,
  roleOfFunction,
  type Synthesized,
  synthCustody,
  theResource,
} from './synth.ts';

type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

describe('IAM of the synthesized stack', () => {
  let s: Synthesized;
  let resolver: CfnResolver;
  let brokerRoleId: string;
  const executionRoleId = (profile: string) => executionRole(s.json, profile)[0];
  const executorArn = (profile: string) => resolver.getAtt(executorFunction(s.json, profile)[0], 'Arn');
  const secretArn = (name: string) =>
    `arn:aws:secretsmanager:${WORLD.region}:${WORLD.account}:secret:${name}-AbC123`;

  beforeAll(() => {
    s = synthCustody();
    resolver = new CfnResolver(s.json);
    const [, broker] = brokerFunction(s.json);
    [brokerRoleId] = roleOfFunction(s.json, broker);
  });

  /** Simulates `action` on `resource` by a session of the role `roleId`. */
  async function decide(
    roleId: string,
    action: string,
    resource: string,
    options: {
      resourcePolicy?: unknown;
      context?: Record<string, string | string[]>;
      extraIdentityStatements?: unknown[];
    } = {},
  ): Promise<Decision> {
    const role = s.json.Resources[roleId]!;
    const boundaryRef = role.Properties.PermissionsBoundary;
    const boundaryPolicies =
      boundaryRef === undefined
        ? undefined
        : [
            {
              name: 'boundary',
              policy: resolver.resolve(
                s.json.Resources[referencedId(boundaryRef)]!.Properties.PolicyDocument,
              ),
            },
          ];
    const simulation: Simulation = {
      request: {
        principal: resolver.sessionArn(roleId),
        action,
        resource: { resource, accountId: WORLD.account },
        contextVariables: options.context ?? {},
      },
      identityPolicies: [
        {
          name: 'role',
          policy: {
            Version: '2012-10-17',
            Statement: [
              ...(resolver.resolve(identityStatementsOfRole(s.json, roleId)) as unknown[]),
              ...(options.extraIdentityStatements ?? []),
            ],
          },
        },
      ],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: options.resourcePolicy,
      permissionBoundaryPolicies: boundaryPolicies,
    };
    const result = await runSimulation(simulation, {});
    if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors, null, 2));
    return result.overallResult as Decision;
  }

  it('lets each profile role invoke its own executor', async () => {
    for (const profile of ['sandbox', 'reports', 'remediation']) {
      expect(await decide(executionRoleId(profile), 'lambda:InvokeFunction', executorArn(profile))).toBe(
        'Allowed',
      );
    }
  });

  it('does not let profile A’s role invoke profile B’s executor', async () => {
    expect(await decide(executionRoleId('sandbox'), 'lambda:InvokeFunction', executorArn('reports'))).toBe(
      'ImplicitlyDenied',
    );
    expect(await decide(executionRoleId('reports'), 'lambda:InvokeFunction', executorArn('sandbox'))).toBe(
      'ImplicitlyDenied',
    );
  });

  it('lets a profile role read its own secret and no other', async () => {
    const token = secretArn('custody/reports/api-token');
    expect(await decide(executionRoleId('reports'), 'secretsmanager:GetSecretValue', token)).toBe('Allowed');
    expect(await decide(executionRoleId('sandbox'), 'secretsmanager:GetSecretValue', token)).toBe(
      'ImplicitlyDenied',
    );
    // A secret whose name merely starts with the granted one.
    expect(
      await decide(
        executionRoleId('reports'),
        'secretsmanager:GetSecretValue',
        secretArn('custody/reports/api-token-admin'),
      ),
    ).toBe('ImplicitlyDenied');
  });

  it('caps a profile role with its boundary even if someone attaches an admin policy', async () => {
    const admin = [{ Effect: 'Allow', Action: '*', Resource: '*' }];
    const table = resolver.getAtt(theResource(s.json, 'AWS::DynamoDB::Table', () => true)[0], 'Arn');
    expect(
      await decide(executionRoleId('sandbox'), 'dynamodb:DeleteItem', table, {
        extraIdentityStatements: admin,
      }),
    ).toBe('ImplicitlyDenied');
    expect(
      await decide(executionRoleId('sandbox'), 'lambda:InvokeFunction', executorArn('reports'), {
        extraIdentityStatements: admin,
      }),
    ).toBe('ImplicitlyDenied');
  });

  it('does not let the broker role invoke an executor or read a secret with its own credentials', async () => {
    for (const profile of ['sandbox', 'reports', 'remediation']) {
      expect(await decide(brokerRoleId, 'lambda:InvokeFunction', executorArn(profile))).toBe(
        'ImplicitlyDenied',
      );
    }
    expect(
      await decide(brokerRoleId, 'secretsmanager:GetSecretValue', secretArn('custody/reports/api-token')),
    ).toBe('ImplicitlyDenied');
  });

  describe('assuming an execution role', () => {
    const tags = {
      'aws:RequestTag/custody:caller': 'arn:aws:iam::111122223333:role/custody-agent',
      'aws:RequestTag/custody:execution-id': 'exec-1',
      'aws:RequestTag/custody:profile': 'sandbox',
      'aws:TagKeys': ['custody:caller', 'custody:execution-id', 'custody:profile'],
    };
    const context = { ...tags, 'sts:SourceIdentity': 'agent' };

    async function assume(
      action: 'sts:AssumeRole' | 'sts:TagSession' | 'sts:SetSourceIdentity',
      ctx: Record<string, string | string[]>,
      roleId = brokerRoleId,
    ): Promise<Decision> {
      const target = executionRoleId('sandbox');
      return decide(roleId, action, resolver.getAtt(target, 'Arn'), {
        resourcePolicy: resolver.resolve(s.json.Resources[target]!.Properties.AssumeRolePolicyDocument),
        context: ctx,
      });
    }

    it('is allowed to the broker with a granted source identity and the three tags', async () => {
      expect(await assume('sts:AssumeRole', context)).toBe('Allowed');
      expect(await assume('sts:TagSession', context)).toBe('Allowed');
      expect(await assume('sts:SetSourceIdentity', context)).toBe('Allowed');
    });

    it('is refused without a source identity', async () => {
      expect(await assume('sts:AssumeRole', tags)).toBe('ImplicitlyDenied');
    });

    it('is refused for a principal the policy does not grant the profile', async () => {
      expect(await assume('sts:AssumeRole', { ...context, 'sts:SourceIdentity': 'stranger' })).toBe(
        'ImplicitlyDenied',
      );
    });

    it('is refused without the session tags, with another profile tag, or with an extra tag', async () => {
      const { 'aws:RequestTag/custody:execution-id': _, ...withoutExecutionId } = context;
      expect(await assume('sts:AssumeRole', withoutExecutionId)).toBe('ImplicitlyDenied');
      expect(
        await assume('sts:AssumeRole', { ...context, 'aws:RequestTag/custody:profile': 'reports' }),
      ).toBe('ImplicitlyDenied');
      expect(
        await assume('sts:TagSession', {
          ...context,
          'aws:RequestTag/extra': 'x',
          'aws:TagKeys': [...tags['aws:TagKeys'], 'extra'],
        }),
      ).toBe('ImplicitlyDenied');
    });

    it('is refused to any other role in the stack, such as an executor’s', async () => {
      const [, executor] = executorFunction(s.json, 'sandbox');
      const [executorRoleId] = roleOfFunction(s.json, executor);
      expect(await assume('sts:AssumeRole', context, executorRoleId)).toBe('ImplicitlyDenied');
    });
  });
});
