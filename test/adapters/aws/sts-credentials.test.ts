import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import 'aws-sdk-client-mock-vitest/extend';
import { StsCredentials } from '../../../lambda/adapters/aws/sts-credentials.ts';
import { assumeRoleInput } from '../../../lambda/broker/session.ts';
import { DependencyError, ThrottledError } from '../../../lambda/core/errors.ts';

const ROLE = 'arn:aws:iam::111122223333:role/custody/custody-exec-reports';
const EXECUTOR = 'arn:aws:lambda:eu-west-1:111122223333:function:custody-executor-reports';
const SECRET = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:custody/reports/api-token-AbCdEf';
const CALLER = `arn:aws:sts::111122223333:assumed-role/custody-agent/${'long-session-'.repeat(30)}`;

const input = assumeRoleInput({
  roleArn: ROLE,
  executorArn: EXECUTOR,
  secretIds: [SECRET],
  principalId: 'agent',
  callerArn: CALLER,
  executionId: '01HZX3K7R8M9N0P1Q2R3S4T5V6',
  profile: 'reports',
});

const OK = {
  Credentials: {
    AccessKeyId: 'ASIASESSIONKEY000001',
    SecretAccessKey: 'session-secret',
    SessionToken: 'session-token',
    Expiration: new Date('2030-01-01T12:15:00Z'),
  },
  AssumedRoleUser: {
    Arn: 'arn:aws:sts::111122223333:assumed-role/custody-exec-reports/agent@01HZX3K7R8M9N0P1Q2R3S4T5V6',
    AssumedRoleId: 'AROAEXAMPLE:agent@01HZX3K7R8M9N0P1Q2R3S4T5V6',
  },
  SourceIdentity: 'agent',
};

const awsError = (name: string, status: number) =>
  Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status } });

describe('StsCredentials', () => {
  const sts = mockClient(STSClient);
  const sleeps: number[] = [];
  const adapter = () =>
    new StsCredentials({
      region: 'eu-west-1',
      maxAttempts: 3,
      baseDelayMs: 100,
      random: () => 0.5,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
  afterEach(() => {
    sts.reset();
    sleeps.length = 0;
  });

  it('sends exactly the per-execution AssumeRole request', async () => {
    sts.on(AssumeRoleCommand).resolves(OK);
    await adapter().assumeRole(input);
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    const sent = sts.commandCalls(AssumeRoleCommand)[0]!.args[0].input;
    expect(sent).toEqual({
      RoleArn: ROLE,
      RoleSessionName: 'agent@01HZX3K7R8M9N0P1Q2R3S4T5V6',
      SourceIdentity: 'agent',
      Tags: [
        { Key: 'custody:caller', Value: CALLER.slice(0, 256) },
        { Key: 'custody:execution-id', Value: '01HZX3K7R8M9N0P1Q2R3S4T5V6' },
        { Key: 'custody:profile', Value: 'reports' },
      ],
      Policy: input.sessionPolicy,
      DurationSeconds: 900,
    });
    expect(sent.RoleSessionName).toMatch(/^[\w+=,.@-]{2,64}$/);
    expect(sent.Policy!.length).toBeLessThanOrEqual(2048);
    expect(JSON.parse(sent.Policy!).Statement).toEqual([
      { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: EXECUTOR },
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: [SECRET] },
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringLike: { 'kms:ViaService': 'secretsmanager.*.amazonaws.com' } },
      },
    ]);
  });

  it('returns the session with its credentials and assumed-role ARN', async () => {
    sts.on(AssumeRoleCommand).resolves(OK);
    const session = await adapter().assumeRole(input);
    expect(session).toEqual({
      credentials: {
        accessKeyId: 'ASIASESSIONKEY000001',
        secretAccessKey: 'session-secret',
        sessionToken: 'session-token',
        expiration: new Date('2030-01-01T12:15:00Z'),
      },
      roleArn: ROLE,
      assumedRoleArn: OK.AssumedRoleUser.Arn,
      sessionName: 'agent@01HZX3K7R8M9N0P1Q2R3S4T5V6',
      sourceIdentity: 'agent',
    });
  });

  it('calls the regional STS endpoint with SDK retries off', async () => {
    const client = adapter().client;
    const config = client.config;
    expect(await config.region()).toBe('eu-west-1');
    expect(await config.maxAttempts()).toBe(1);
    const endpoint = config.endpointProvider({
      Region: await config.region(),
      UseGlobalEndpoint: config.useGlobalEndpoint as boolean,
      UseFIPS: false,
      UseDualStack: false,
    });
    expect(endpoint.url.hostname).toBe('sts.eu-west-1.amazonaws.com');
  });

  it('retries a throttled call with jittered backoff, then succeeds', async () => {
    sts
      .on(AssumeRoleCommand)
      .rejectsOnce(awsError('Throttling', 400))
      .rejectsOnce(awsError('Throttling', 400))
      .resolves(OK);
    const session = await adapter().assumeRole(input);
    expect(session.sessionName).toBe('agent@01HZX3K7R8M9N0P1Q2R3S4T5V6');
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 3);
    expect(sleeps).toEqual([50, 100]);
  });

  it('answers 429 when throttling outlasts the retry budget', async () => {
    sts.on(AssumeRoleCommand).rejects(awsError('Throttling', 400));
    const error = await adapter()
      .assumeRole(input)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThrottledError);
    expect((error as ThrottledError).httpStatus).toBe(429);
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 3);
  });

  it('fails closed with 503 on AccessDenied, without retrying', async () => {
    sts.on(AssumeRoleCommand).rejects(awsError('AccessDenied', 403));
    const error = await adapter()
      .assumeRole(input)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect(error).toMatchObject({ httpStatus: 503, dependency: 'credentials' });
    expect((error as Error).message).toContain('AccessDenied');
    expect((error as Error).message).not.toContain(ROLE);
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
  });

  it('fails closed when STS answers without credentials', async () => {
    sts.on(AssumeRoleCommand).resolves({});
    await expect(adapter().assumeRole(input)).rejects.toMatchObject({ dependency: 'credentials' });
  });
});
