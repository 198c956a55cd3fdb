import { describe, expect, it } from 'vitest';
import { assumeRoleInput, sessionNameFor, sessionPolicy, sessionTags } from '../../lambda/broker/session.ts';
import { DependencyError } from '../../lambda/core/errors.ts';

const EXECUTOR = 'arn:aws:lambda:eu-west-1:111122223333:function:custody-executor-reports';
const SECRET = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:custody/reports/api-token-AbCdEf';

describe('Role session names', () => {
  it('join the principal id and the execution id', () => {
    expect(sessionNameFor('agent', '01HZX3K7R8M9N0P1Q2R3S4T5V6')).toBe('agent@01HZX3K7R8M9N0P1Q2R3S4T5V6');
  });

  it('stay within 64 characters of the STS charset, keeping the whole execution id', () => {
    const id = '01HZX3K7R8M9N0P1Q2R3S4T5V6';
    const name = sessionNameFor('a'.repeat(32), id);
    expect(name.length).toBeLessThanOrEqual(64);
    expect(name).toMatch(/^[\w+=,.@-]{2,64}$/);
    expect(name.endsWith(id)).toBe(true);
    const uuid = sessionNameFor('agent-with,odd=chars', '5f0e6c1a-9c2b-4a55-8d7e-3b2a1c0d9e8f');
    expect(uuid).toMatch(/^[\w+=,.@-]{2,64}$/);
  });
});

describe('Session tags', () => {
  it('carry caller, execution id and profile, values truncated to 256 characters', () => {
    const longArn = `arn:aws:sts::111122223333:assumed-role/agent/${'s'.repeat(300)}`;
    const tags = sessionTags(longArn, 'EXEC', 'reports');
    expect(Object.keys(tags)).toEqual(['custody:caller', 'custody:execution-id', 'custody:profile']);
    expect(tags['custody:caller']).toBe(longArn.slice(0, 256));
    expect(tags['custody:execution-id']).toBe('EXEC');
    expect(tags['custody:profile']).toBe('reports');
  });
});

describe('A call of a custody session (#15)', () => {
  const SESSION = 'ses_01HZX3K7R8M9N0P1Q2R3S4T5V6';

  it('adds the session tag, and nothing without a session', () => {
    expect(sessionTags('arn:x', 'EXEC', 'reports', SESSION)['custody:session-id']).toBe(SESSION);
    expect(Object.keys(sessionTags('arn:x', 'EXEC', 'reports'))).not.toContain('custody:session-id');
  });

  it("allows reading and writing that session's state prefix only", () => {
    const statements = JSON.parse(sessionPolicy(EXECUTOR, [SECRET], undefined, SESSION)).Statement;
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject'],
      Resource: `arn:aws:s3:::*/sessions/${SESSION}/*`,
    });
    // The state bucket is SSE-KMS: the session key only through S3.
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: '*',
      Condition: { StringLike: { 'kms:ViaService': 's3.*.amazonaws.com' } },
    });
    expect(JSON.stringify(JSON.parse(sessionPolicy(EXECUTOR, [SECRET])))).not.toContain('s3');
  });
});

describe('Session policy', () => {
  it('allows invoking only the executor when the profile has no secrets', () => {
    expect(JSON.parse(sessionPolicy(EXECUTOR, []))).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: EXECUTOR }],
    });
  });

  it('allows reading exactly the requested secrets, decrypting only through Secrets Manager', () => {
    // The whole document: a further statement, or a wider action, would widen the session.
    expect(JSON.parse(sessionPolicy(EXECUTOR, [SECRET, 'custody/local/name']))).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: EXECUTOR },
        {
          Effect: 'Allow',
          Action: 'secretsmanager:GetSecretValue',
          Resource: [SECRET, 'arn:aws:secretsmanager:*:*:secret:custody/local/name-??????'],
        },
        {
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: '*',
          Condition: { StringLike: { 'kms:ViaService': 'secretsmanager.*.amazonaws.com' } },
        },
      ],
    });
  });

  it('refuses a policy over 2,048 characters instead of widening it', () => {
    const many = Array.from({ length: 30 }, (_, i) => `${SECRET}${i}`);
    expect(() => sessionPolicy(EXECUTOR, many)).toThrow(DependencyError);
    expect(() => sessionPolicy(EXECUTOR, many)).toThrow(/2048/);
  });

  it('fits ten secrets within the limit', () => {
    const ten = Array.from({ length: 10 }, (_, i) => `${SECRET}${i}`);
    expect(sessionPolicy(EXECUTOR, ten).length).toBeLessThanOrEqual(2048);
  });
});

describe('AssumeRole input', () => {
  it('uses the principal id as source identity and 900 seconds', () => {
    const input = assumeRoleInput({
      roleArn: 'arn:aws:iam::111122223333:role/custody-reports',
      executorArn: EXECUTOR,
      secretIds: [SECRET],
      principalId: 'agent',
      callerArn: 'arn:aws:sts::111122223333:assumed-role/custody-agent/s1',
      executionId: '01HZX3K7R8M9N0P1Q2R3S4T5V6',
      profile: 'reports',
    });
    expect(input).toMatchObject({
      roleArn: 'arn:aws:iam::111122223333:role/custody-reports',
      sessionName: 'agent@01HZX3K7R8M9N0P1Q2R3S4T5V6',
      sourceIdentity: 'agent',
      durationSeconds: 900,
    });
  });
});

describe('Session policy: datasets and outputs (#16)', () => {
  it("allows the profile's dataset reads, prefix-bound listing, KMS via S3, and outputs puts, nothing more", () => {
    const KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const policy = JSON.parse(
      sessionPolicy(EXECUTOR, [], {
        read: [
          { bucket: 'research-data', prefix: 'curated/', kmsKeyArn: KEY },
          { bucket: 'research-data', prefix: 'shared/' },
        ],
        write: { bucket: 'research-out', prefix: 'runs/' },
      }),
    );
    expect(policy.Statement.slice(1)).toEqual([
      {
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: ['arn:aws:s3:::research-data/curated/*', 'arn:aws:s3:::research-data/shared/*'],
      },
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: ['arn:aws:s3:::research-data'],
        Condition: { StringLike: { 's3:prefix': ['curated/*', 'shared/*'] } },
      },
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: [KEY],
        Condition: { StringLike: { 'kms:ViaService': 's3.*.amazonaws.com' } },
      },
      { Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::research-out/runs/*' },
    ]);
  });
});
