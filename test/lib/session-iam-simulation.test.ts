/**
 * Sessions (#15), IAM evaluated: the synthesized policies of the execution roles, the broker, the
 * state bucket and the session key, resolved to concrete ARNs and run through an IAM policy
 * simulator (@cloud-copilot/iam-simulate). These are the attacks: a call of one session reaching
 * for another session's state, a role session without the tag, listing, deleting, the broker
 * reading state or unwrapping what is not a session data key.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { beforeAll, describe, expect, it } from 'vitest';
import { SESSION_CONTEXT_KEYS } from '../../lambda/adapters/aws/kms-session-key-vault.ts';
import { TAG_SESSION_ID } from '../../lambda/core/session.ts';
import { SESSION_KEY_CONTEXT_KEYS } from '../../lib/sessions.ts';
import { CfnResolver, WORLD } from './cfn-resolve.ts';
import {
  brokerFunction,
  executionRole,
  identityStatementsOfRole,
  referencedId,
  roleOfFunction,
  type Synthesized,
  sessionKey,
  sessionStateBucket,
  synthCustody,
} from './synth.ts';

type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

const SES_A = 'ses_01JD8X3M7Q9V2K4T6W8Y0Z1A2A';
const SES_B = 'ses_01JD8X3M7Q9V2K4T6W8Y0Z1A2B';

/**
 * iam-simulate evaluates a context key with a variable part only after a '/' (aws:RequestTag/X);
 * `kms:EncryptionContext:<key>` it ignores. The tests rename each such key to a stand-in it does
 * evaluate, in the policies and in the request alike (iam-simulation.test.ts shows it ignores them).
 */
const STAND_INS: Record<string, string> = {
  'kms:EncryptionContext:aws:s3:arn': 'aws:ResourceTag/ctx-s3-arn',
  'kms:EncryptionContext:custody:session-id': 'aws:ResourceTag/ctx-session-id',
  'kms:EncryptionContext:custody:principal': 'aws:ResourceTag/ctx-principal',
};

function renamed<T>(value: T): T {
  let text = JSON.stringify(value);
  for (const [from, to] of Object.entries(STAND_INS))
    text = text.replaceAll(JSON.stringify(from), JSON.stringify(to));
  return JSON.parse(text) as T;
}

describe('IAM of sessions in the synthesized stack', () => {
  let s: Synthesized;
  let resolver: CfnResolver;
  let brokerRoleId: string;
  let bucketArn: string;
  let keyArn: string;
  let bucketPolicy: unknown;
  /** The session key's own policy (KMS needs it to allow too: CDK's default lets IAM decide). */
  let keyPolicy: unknown;
  const role = (profile: string) => executionRole(s.json, profile)[0];
  const state = (sessionId: string) => `${bucketArn}/sessions/${sessionId}/state`;

  beforeAll(() => {
    s = synthCustody();
    resolver = new CfnResolver(s.json);
    [brokerRoleId] = roleOfFunction(s.json, brokerFunction(s.json)[1]);
    const [bucketId] = sessionStateBucket(s.json);
    bucketArn = resolver.getAtt(bucketId, 'Arn');
    const [keyId, key] = sessionKey(s.json);
    keyArn = resolver.getAtt(keyId, 'Arn');
    keyPolicy = resolver.resolve(key.Properties.KeyPolicy);
    const [, policy] = Object.entries(s.json.Resources).find(
      ([, r]) => r.Type === 'AWS::S3::BucketPolicy' && referencedId(r.Properties.Bucket) === bucketId,
    )!;
    bucketPolicy = resolver.resolve(policy.Properties.PolicyDocument);
  });

  /** Simulates `action` on `resource` by a session of the role `roleId`, its boundary applied. */
  async function decide(
    roleId: string,
    action: string,
    resource: string,
    options: {
      context?: Record<string, string | string[]>;
      resourcePolicy?: unknown;
      extraIdentityStatements?: unknown[];
    } = {},
  ): Promise<Decision> {
    const r = s.json.Resources[roleId]!;
    const boundaryRef = r.Properties.PermissionsBoundary;
    const result = await runSimulation(
      {
        request: {
          principal: resolver.sessionArn(roleId),
          action,
          resource: { resource, accountId: WORLD.account },
          contextVariables: renamed(options.context ?? {}),
        },
        identityPolicies: [
          {
            name: 'role',
            policy: {
              Version: '2012-10-17',
              Statement: [
                ...renamed(resolver.resolve(identityStatementsOfRole(s.json, roleId)) as unknown[]),
                ...(options.extraIdentityStatements ?? []),
              ],
            },
          },
        ],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        // The resource's own policy: the state bucket's, the session key's.
        resourcePolicy: renamed(
          options.resourcePolicy ?? (action.startsWith('kms:') ? keyPolicy : bucketPolicy),
        ),
        permissionBoundaryPolicies:
          boundaryRef === undefined
            ? undefined
            : [
                {
                  name: 'boundary',
                  policy: renamed(
                    resolver.resolve(s.json.Resources[referencedId(boundaryRef)]!.Properties.PolicyDocument),
                  ),
                },
              ],
      },
      {},
    );
    if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors, null, 2));
    return result.overallResult as Decision;
  }

  /** A call of session `sessionId` (its role session tagged with it), over TLS. */
  const tagged = (sessionId: string | undefined, context: Record<string, string> = {}) => ({
    context: {
      ...(sessionId === undefined ? {} : { [`aws:PrincipalTag/${TAG_SESSION_ID}`]: sessionId }),
      'aws:SecureTransport': 'true',
      ...context,
    },
  });
  const underSessionKey = { 's3:x-amz-server-side-encryption-aws-kms-key-id': '' };

  describe('an execution role session tagged with session A', () => {
    it('may get and put session A’s state', async () => {
      for (const profile of ['sandbox', 'reports', 'remediation']) {
        expect(await decide(role(profile), 's3:GetObject', state(SES_A), tagged(SES_A))).toBe('Allowed');
        expect(
          await decide(
            role(profile),
            's3:PutObject',
            state(SES_A),
            tagged(SES_A, { ...underSessionKey, 's3:x-amz-server-side-encryption-aws-kms-key-id': keyArn }),
          ),
        ).toBe('Allowed');
      }
    });

    it('may not get or put session B’s state, nor that of a session whose id starts with A’s', async () => {
      for (const other of [SES_B, `${SES_A}X`]) {
        expect(await decide(role('sandbox'), 's3:GetObject', state(other), tagged(SES_A))).toBe(
          'ImplicitlyDenied',
        );
        expect(
          await decide(
            role('sandbox'),
            's3:PutObject',
            state(other),
            tagged(SES_A, { 's3:x-amz-server-side-encryption-aws-kms-key-id': keyArn }),
          ),
        ).toBe('ImplicitlyDenied');
      }
    });

    it('may not list the bucket or delete any state, its own included', async () => {
      expect(await decide(role('sandbox'), 's3:ListBucket', bucketArn, tagged(SES_A))).toBe(
        'ImplicitlyDenied',
      );
      for (const id of [SES_A, SES_B]) {
        expect(await decide(role('sandbox'), 's3:DeleteObject', state(id), tagged(SES_A))).toBe(
          'ImplicitlyDenied',
        );
      }
    });

    it('may not put state other than under the session key (the bucket policy refuses it)', async () => {
      expect(await decide(role('sandbox'), 's3:PutObject', state(SES_A), tagged(SES_A))).toBe(
        'ExplicitlyDenied',
      );
      const otherKey = `arn:aws:kms:${WORLD.region}:${WORLD.account}:key/0000-other`;
      expect(
        await decide(
          role('sandbox'),
          's3:PutObject',
          state(SES_A),
          tagged(SES_A, { 's3:x-amz-server-side-encryption-aws-kms-key-id': otherKey }),
        ),
      ).toBe('ExplicitlyDenied');
    });

    it('stays on its own prefix even if someone attaches an admin policy (the boundary holds)', async () => {
      const admin = [{ Effect: 'Allow', Action: '*', Resource: '*' }];
      for (const [action, resource] of [
        ['s3:GetObject', state(SES_B)],
        ['s3:DeleteObject', state(SES_A)],
        ['s3:ListBucket', bucketArn],
      ] as const) {
        expect(
          await decide(role('sandbox'), action, resource, {
            ...tagged(SES_A),
            extraIdentityStatements: admin,
          }),
          `${action} ${resource}`,
        ).toBe('ImplicitlyDenied');
      }
    });

    it('uses the session key only through S3 and only for session A’s objects', async () => {
      const viaS3 = { 'kms:ViaService': `s3.${WORLD.region}.amazonaws.com` };
      const forObject = (id: string) => ({ 'kms:EncryptionContext:aws:s3:arn': state(id) });
      for (const action of ['kms:Decrypt', 'kms:GenerateDataKey']) {
        expect(
          await decide(role('sandbox'), action, keyArn, tagged(SES_A, { ...viaS3, ...forObject(SES_A) })),
        ).toBe('Allowed');
        expect(
          await decide(role('sandbox'), action, keyArn, tagged(SES_A, { ...viaS3, ...forObject(SES_B) })),
        ).toBe('ImplicitlyDenied');
        // Directly, not through S3 (to unwrap a session data key, say): refused.
        expect(await decide(role('sandbox'), action, keyArn, tagged(SES_A, forObject(SES_A)))).toBe(
          'ImplicitlyDenied',
        );
      }
      expect(
        await decide(
          role('sandbox'),
          'kms:Encrypt',
          keyArn,
          tagged(SES_A, { ...viaS3, ...forObject(SES_A) }),
        ),
      ).toBe('ImplicitlyDenied');
    });
  });

  describe('an execution role session without a session tag (a plain execution)', () => {
    it('may touch no session’s state and not use the session key', async () => {
      for (const id of [SES_A, SES_B]) {
        expect(await decide(role('sandbox'), 's3:GetObject', state(id), tagged(undefined))).toBe(
          'ImplicitlyDenied',
        );
        expect(
          await decide(
            role('sandbox'),
            's3:PutObject',
            state(id),
            tagged(undefined, { 's3:x-amz-server-side-encryption-aws-kms-key-id': keyArn }),
          ),
        ).toBe('ImplicitlyDenied');
      }
      expect(
        await decide(
          role('sandbox'),
          'kms:Decrypt',
          keyArn,
          tagged(undefined, {
            'kms:ViaService': `s3.${WORLD.region}.amazonaws.com`,
            'kms:EncryptionContext:aws:s3:arn': state(SES_A),
          }),
        ),
      ).toBe('ImplicitlyDenied');
    });
  });

  describe('a session call’s AssumeRole', () => {
    const tags = (sessionId: string) => ({
      'aws:RequestTag/custody:caller': 'arn:aws:iam::111122223333:role/custody-agent',
      'aws:RequestTag/custody:execution-id': 'exec-1',
      'aws:RequestTag/custody:profile': 'sandbox',
      [`aws:RequestTag/${TAG_SESSION_ID}`]: sessionId,
      'aws:TagKeys': ['custody:caller', 'custody:execution-id', 'custody:profile', TAG_SESSION_ID],
      'sts:SourceIdentity': 'agent',
    });
    const assume = (action: string, context: Record<string, string | string[]>) => {
      const target = role('sandbox');
      return decide(brokerRoleId, action, resolver.getAtt(target, 'Arn'), {
        context,
        resourcePolicy: resolver.resolve(s.json.Resources[target]!.Properties.AssumeRolePolicyDocument),
      });
    };

    it('may tag the role session with the session id', async () => {
      for (const action of ['sts:AssumeRole', 'sts:TagSession']) {
        expect(await assume(action, tags(SES_A))).toBe('Allowed');
      }
    });

    it('may not put anything but a session id in the session tag', async () => {
      for (const action of ['sts:AssumeRole', 'sts:TagSession']) {
        expect(await assume(action, tags('sessions'))).toBe('ImplicitlyDenied');
      }
    });
  });

  describe('the broker', () => {
    const sessionContext = {
      'kms:EncryptionContextKeys': [SESSION_CONTEXT_KEYS.sessionId, SESSION_CONTEXT_KEYS.principal],
      'kms:EncryptionContext:custody:session-id': SES_A,
      'kms:EncryptionContext:custody:principal': 'agent',
    };

    it('names the same context keys as the key vault adapter', () => {
      expect([...SESSION_KEY_CONTEXT_KEYS].sort()).toEqual(Object.values(SESSION_CONTEXT_KEYS).sort());
    });

    it('may delete session state but never read or write it', async () => {
      const ctx = { context: { 'aws:SecureTransport': 'true' } };
      expect(await decide(brokerRoleId, 's3:DeleteObject', state(SES_A), ctx)).toBe('Allowed');
      expect(await decide(brokerRoleId, 's3:GetObject', state(SES_A), ctx)).toBe('ImplicitlyDenied');
      expect(
        await decide(brokerRoleId, 's3:PutObject', state(SES_A), {
          ...ctx,
          context: { ...ctx.context, 's3:x-amz-server-side-encryption-aws-kms-key-id': keyArn },
        }),
      ).toBe('ImplicitlyDenied');
      expect(await decide(brokerRoleId, 's3:ListBucket', bucketArn, ctx)).toBe('ImplicitlyDenied');
      // Nothing outside the state prefix either.
      expect(await decide(brokerRoleId, 's3:DeleteObject', `${bucketArn}/other`, ctx)).toBe(
        'ImplicitlyDenied',
      );
    });

    it('makes and unwraps data keys with the session context', async () => {
      for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
        expect(await decide(brokerRoleId, action, keyArn, { context: sessionContext })).toBe('Allowed');
      }
    });

    it('cannot use the session key with any other context: S3’s, none, one key missing, an extra key', async () => {
      const contexts: Array<Record<string, string | string[]>> = [
        { 'kms:EncryptionContextKeys': ['aws:s3:arn'], 'kms:EncryptionContext:aws:s3:arn': state(SES_A) },
        {},
        {
          'kms:EncryptionContextKeys': [SESSION_CONTEXT_KEYS.sessionId],
          'kms:EncryptionContext:custody:session-id': SES_A,
        },
        {
          ...sessionContext,
          'kms:EncryptionContextKeys': [...sessionContext['kms:EncryptionContextKeys'], 'aws:s3:arn'],
          'kms:EncryptionContext:aws:s3:arn': state(SES_A),
        },
      ];
      for (const context of contexts) {
        expect(await decide(brokerRoleId, 'kms:Decrypt', keyArn, { context }), JSON.stringify(context)).toBe(
          'ImplicitlyDenied',
        );
      }
    });

    it('uses the key without a session context only through DynamoDB (the session table)', async () => {
      const viaDynamo = { 'kms:ViaService': `dynamodb.${WORLD.region}.amazonaws.com` };
      expect(await decide(brokerRoleId, 'kms:Decrypt', keyArn, { context: viaDynamo })).toBe('Allowed');
      expect(
        await decide(brokerRoleId, 'kms:Decrypt', keyArn, {
          context: { 'kms:ViaService': `s3.${WORLD.region}.amazonaws.com` },
        }),
      ).toBe('ImplicitlyDenied');
    });
  });
});
