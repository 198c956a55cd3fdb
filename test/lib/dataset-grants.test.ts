/**
 * #16: the execution role's S3 grant, evaluated by an IAM policy simulator
 * (@cloud-copilot/iam-simulate) over the synthesized role policy and permissions boundary: reads
 * only `bucket/prefix*` of the profile's datasets, lists only under those prefixes, puts only under
 * its outputs prefix, and nothing else (no delete, no read or list of outputs, no other bucket).
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../lambda/core/policy.ts';
import { CfnResolver, WORLD } from './cfn-resolve.ts';
import {
  executionRole,
  identityStatementsOfRole,
  referencedId,
  type Synthesized,
  synthCustody,
} from './synth.ts';

type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

const DEFAULT_KEY_POLICY = {
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
const KEY = `arn:aws:kms:${WORLD.region}:${WORLD.account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

const policy = parsePolicy({
  version: 1,
  api: { allowedAccounts: [WORLD.account] },
  profiles: {
    analytics: {
      languages: ['python'],
      datasets: {
        research: { bucket: 'research-data', prefix: 'curated/', kmsKeyArn: KEY },
        weather: { bucket: 'weather-data', prefix: '' },
      },
      outputs: { bucket: 'research-out', prefix: 'runs/' },
    },
    plain: { languages: ['python'] },
  },
  principals: [
    {
      id: 'agent',
      arn: `arn:aws:iam::${WORLD.account}:role/custody-agent`,
      grants: [{ profile: 'analytics' }, { profile: 'plain' }],
    },
  ],
});

describe('The execution role’s S3 grant (IAM simulation)', () => {
  let s: Synthesized;
  let resolver: CfnResolver;

  beforeAll(() => {
    s = synthCustody({ props: { policy } });
    resolver = new CfnResolver(s.json);
  });

  async function decide(
    profile: string,
    action: string,
    resource: string,
    context: Record<string, string> = {},
  ): Promise<Decision> {
    const [roleId, role] = executionRole(s.json, profile);
    const boundary = s.json.Resources[referencedId(role.Properties.PermissionsBoundary)]!;
    const result = await runSimulation(
      {
        request: {
          principal: resolver.sessionArn(roleId),
          action,
          resource: { resource, accountId: WORLD.account },
          contextVariables: context,
        },
        // A KMS key is judged with its key policy too: KMS's default, which lets IAM policies decide.
        ...(action.startsWith('kms:') ? { resourcePolicy: DEFAULT_KEY_POLICY } : {}),
        identityPolicies: [
          {
            name: 'role',
            policy: {
              Version: '2012-10-17',
              Statement: resolver.resolve(identityStatementsOfRole(s.json, roleId)),
            },
          },
        ],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        permissionBoundaryPolicies: [
          { name: 'boundary', policy: resolver.resolve(boundary.Properties.PolicyDocument) },
        ],
      },
      {},
    );
    if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors, null, 2));
    return result.overallResult as Decision;
  }

  it('allows GetObject under each dataset prefix, and a whole bucket when the prefix is empty', async () => {
    expect(await decide('analytics', 's3:GetObject', 'arn:aws:s3:::research-data/curated/iris.csv')).toBe(
      'Allowed',
    );
    expect(await decide('analytics', 's3:GetObject', 'arn:aws:s3:::research-data/curated/sub/a.json')).toBe(
      'Allowed',
    );
    expect(await decide('analytics', 's3:GetObject', 'arn:aws:s3:::weather-data/any/key.csv')).toBe(
      'Allowed',
    );
  });

  it.each([
    ['another prefix of the bucket', 'arn:aws:s3:::research-data/restricted/salaries.csv'],
    ['a sibling prefix sharing its first letters', 'arn:aws:s3:::research-data/curatedX/iris.csv'],
    ['another bucket', 'arn:aws:s3:::other-bucket/curated/iris.csv'],
    ['the outputs prefix', 'arn:aws:s3:::research-out/runs/EX1/report.csv'],
  ])('denies GetObject of %s', async (_what, resource) => {
    expect(await decide('analytics', 's3:GetObject', resource)).toBe('ImplicitlyDenied');
  });

  it('denies PutObject and DeleteObject on the datasets', async () => {
    const object = 'arn:aws:s3:::research-data/curated/iris.csv';
    for (const action of ['s3:PutObject', 's3:DeleteObject', 's3:PutObjectAcl', 's3:DeleteObjectVersion']) {
      expect(await decide('analytics', action, object), action).toBe('ImplicitlyDenied');
    }
  });

  it('allows ListBucket only for s3:prefix under a dataset prefix', async () => {
    const bucket = 'arn:aws:s3:::research-data';
    expect(await decide('analytics', 's3:ListBucket', bucket, { 's3:prefix': 'curated/sub/' })).toBe(
      'Allowed',
    );
    expect(await decide('analytics', 's3:ListBucket', bucket, { 's3:prefix': 'restricted/' })).toBe(
      'ImplicitlyDenied',
    );
    expect(await decide('analytics', 's3:ListBucket', bucket)).toBe('ImplicitlyDenied');
    expect(
      await decide('analytics', 's3:ListBucket', 'arn:aws:s3:::other-bucket', { 's3:prefix': 'curated/' }),
    ).toBe('ImplicitlyDenied');
  });

  it('allows PutObject under the outputs prefix, and nothing else there', async () => {
    const artifact = 'arn:aws:s3:::research-out/runs/EX1/report.csv';
    expect(await decide('analytics', 's3:PutObject', artifact)).toBe('Allowed');
    expect(await decide('analytics', 's3:PutObject', 'arn:aws:s3:::research-out/other/x')).toBe(
      'ImplicitlyDenied',
    );
    for (const action of ['s3:GetObject', 's3:DeleteObject', 's3:GetObjectVersion']) {
      expect(await decide('analytics', action, artifact), action).toBe('ImplicitlyDenied');
    }
    expect(
      await decide('analytics', 's3:ListBucket', 'arn:aws:s3:::research-out', { 's3:prefix': 'runs/' }),
    ).toBe('ImplicitlyDenied');
  });

  it('grants a profile without datasets or outputs no S3 access at all', async () => {
    expect(await decide('plain', 's3:GetObject', 'arn:aws:s3:::research-data/curated/iris.csv')).toBe(
      'ImplicitlyDenied',
    );
    expect(await decide('plain', 's3:PutObject', 'arn:aws:s3:::research-out/runs/EX1/x')).toBe(
      'ImplicitlyDenied',
    );
  });

  it('allows kms:Decrypt of a dataset’s customer-managed key only through S3 in the region', async () => {
    const viaS3 = { 'kms:ViaService': `s3.${WORLD.region}.amazonaws.com` };
    expect(await decide('analytics', 'kms:Decrypt', KEY, viaS3)).toBe('Allowed');
    expect(await decide('analytics', 'kms:Decrypt', KEY)).toBe('ImplicitlyDenied');
    expect(
      await decide('analytics', 'kms:Decrypt', KEY, {
        'kms:ViaService': `secretsmanager.${WORLD.region}.amazonaws.com`,
      }),
    ).toBe('ImplicitlyDenied');
    expect(await decide('analytics', 'kms:Decrypt', KEY.replace('1234abcd', '9999abcd'), viaS3)).toBe(
      'ImplicitlyDenied',
    );
    expect(await decide('analytics', 'kms:GenerateDataKey', KEY, viaS3)).toBe('ImplicitlyDenied');
    expect(await decide('plain', 'kms:Decrypt', KEY, viaS3)).toBe('ImplicitlyDenied');
  });
});
