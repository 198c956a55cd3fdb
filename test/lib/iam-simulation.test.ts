/**
 * IAM evaluated, not just read: the synthesized policies, resolved to concrete ARNs, run through
 * an IAM policy simulator (@cloud-copilot/iam-simulate) for the requests that matter.
 */
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { beforeAll, describe, expect, it } from 'vitest';
import { CfnResolver, WORLD } from './cfn-resolve.ts';
import {
  auditLogGroup,
  auditTable,
  brokerFunction,
  executionRole,
  executorFunction,
  functionByDescription,
  identityStatementsOfRole,
  referencedId,
  roleOfFunction,
  type Synthesized,
  synthCustody,
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
      /** Renames a condition key in the role's policies (see the kms:Decrypt tests). */
      renameConditionKey?: readonly [string, string];
    } = {},
  ): Promise<Decision> {
    const rename = (policy: unknown): unknown => {
      if (options.renameConditionKey === undefined) return policy;
      const [from, to] = options.renameConditionKey;
      return JSON.parse(JSON.stringify(policy).replaceAll(JSON.stringify(from), JSON.stringify(to)));
    };
    const role = s.json.Resources[roleId]!;
    const boundaryRef = role.Properties.PermissionsBoundary;
    const boundaryPolicies =
      boundaryRef === undefined
        ? undefined
        : [
            {
              name: 'boundary',
              policy: rename(
                resolver.resolve(s.json.Resources[referencedId(boundaryRef)]!.Properties.PolicyDocument),
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
              ...(rename(resolver.resolve(identityStatementsOfRole(s.json, roleId))) as unknown[]),
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

  it('lets the digester filter the audit log group (reconciliation), and no other group', async () => {
    const [, digester] = functionByDescription(
      s.json,
      'custody: seals new audit records into signed digests',
    );
    const [digesterRoleId] = roleOfFunction(s.json, digester);
    const [groupId] = auditLogGroup(s.json);
    const group = resolver.getAtt(groupId, 'Arn').replace(/:\*$/, '');
    expect(await decide(digesterRoleId, 'logs:FilterLogEvents', group)).toBe('Allowed');
    const other = `arn:aws:logs:${WORLD.region}:${WORLD.account}:log-group:/custody/Custody/broker`;
    expect(await decide(digesterRoleId, 'logs:FilterLogEvents', other)).toBe('ImplicitlyDenied');
    // Reading is FilterLogEvents alone: not the stream reads, not the broker's role.
    expect(await decide(digesterRoleId, 'logs:GetLogEvents', `${group}:log-stream:x`)).toBe(
      'ImplicitlyDenied',
    );
    expect(await decide(brokerRoleId, 'logs:FilterLogEvents', group)).toBe('ImplicitlyDenied');
  });

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

  describe('kms:Decrypt of a secret under a customer-managed key', () => {
    const key = `arn:aws:kms:${WORLD.region}:${WORLD.account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const viaSecretsManager = `secretsmanager.${WORLD.region}.amazonaws.com`;
    // iam-simulate recognises a variable context key only after a '/' (aws:RequestTag/X), so it
    // ignores kms:EncryptionContext:SecretARN (a ':'): the request would be judged without it. The
    // tests give the same ArnLike condition and value under a key it evaluates, in the policies
    // and in the request alike (checked below to be the only key renamed).
    const ENCRYPTION_CONTEXT = 'kms:EncryptionContext:SecretARN';
    const STAND_IN = 'aws:ResourceTag/SecretARN';
    // The key's policy: KMS's default, which lets the account's IAM policies decide.
    const defaultKeyPolicy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${WORLD.account}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
      ],
    };
    const decrypt = (profile: string, context: Record<string, string>) =>
      decide(executionRoleId(profile), 'kms:Decrypt', key, {
        context: Object.fromEntries(
          Object.entries(context).map(([k, v]) => [k === ENCRYPTION_CONTEXT ? STAND_IN : k, v]),
        ),
        renameConditionKey: [ENCRYPTION_CONTEXT, STAND_IN],
        resourcePolicy: defaultKeyPolicy,
      });

    it('conditions on the secret’s encryption context, which the simulator cannot read directly', async () => {
      const [, role] = executionRole(s.json, 'reports');
      const boundary = s.json.Resources[referencedId(role.Properties.PermissionsBoundary)]!;
      const text = JSON.stringify(boundary.Properties.PolicyDocument);
      expect(text).toContain(`"ArnLike":{"${ENCRYPTION_CONTEXT}":`);
      expect(text).not.toContain(STAND_IN);
      const ignored = await runSimulation(
        {
          request: {
            principal: resolver.sessionArn(executionRoleId('reports')),
            action: 'kms:Decrypt',
            resource: { resource: key, accountId: WORLD.account },
            contextVariables: { [ENCRYPTION_CONTEXT]: secretArn('custody/reports/api-token') },
          },
          identityPolicies: [],
          serviceControlPolicies: [],
          resourceControlPolicies: [],
        },
        {},
      );
      // When this fails, the simulator has learnt the key: drop the stand-in.
      expect(ignored.resultType === 'single' && ignored.result.ignoredContextKeys).toEqual([
        ENCRYPTION_CONTEXT,
      ]);
    });

    it('is allowed through Secrets Manager for the profile’s own secret', async () => {
      expect(
        await decrypt('reports', {
          'kms:ViaService': viaSecretsManager,
          'kms:EncryptionContext:SecretARN': secretArn('custody/reports/api-token'),
        }),
      ).toBe('Allowed');
    });

    it('is refused when called directly, or through Secrets Manager of another region', async () => {
      expect(
        await decrypt('reports', {
          'kms:EncryptionContext:SecretARN': secretArn('custody/reports/api-token'),
        }),
      ).toBe('ImplicitlyDenied');
      expect(
        await decrypt('reports', {
          'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com',
          'kms:EncryptionContext:SecretARN': secretArn('custody/reports/api-token'),
        }),
      ).toBe('ImplicitlyDenied');
    });

    it('is refused for another secret, and to a profile without secrets', async () => {
      for (const other of ['custody/reports/api-token-admin', 'custody/other/api-token']) {
        expect(
          await decrypt('reports', {
            'kms:ViaService': viaSecretsManager,
            'kms:EncryptionContext:SecretARN': secretArn(other),
          }),
        ).toBe('ImplicitlyDenied');
      }
      expect(
        await decrypt('sandbox', {
          'kms:ViaService': viaSecretsManager,
          'kms:EncryptionContext:SecretARN': secretArn('custody/reports/api-token'),
        }),
      ).toBe('ImplicitlyDenied');
    });

    it('stays inside the boundary even if someone attaches an admin policy', async () => {
      const admin = [{ Effect: 'Allow', Action: '*', Resource: '*' }];
      expect(
        await decide(executionRoleId('reports'), 'kms:Decrypt', key, {
          extraIdentityStatements: admin,
          resourcePolicy: defaultKeyPolicy,
          context: { 'kms:ViaService': `lambda.${WORLD.region}.amazonaws.com` },
        }),
      ).toBe('ImplicitlyDenied');
    });
  });

  it('caps a profile role with its boundary even if someone attaches an admin policy', async () => {
    const admin = [{ Effect: 'Allow', Action: '*', Resource: '*' }];
    const table = resolver.getAtt(auditTable(s.json)[0], 'Arn');
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
