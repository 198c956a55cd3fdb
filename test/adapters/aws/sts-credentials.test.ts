import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import 'aws-sdk-client-mock-vitest/extend';
import { fullJitterDelayMs, StsCredentials } from '../../../lambda/adapters/aws/sts-credentials.ts';
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
  const adapter = () => new StsCredentials({ region: 'eu-west-1', maxAttempts: 3, random: () => 0 });
  afterEach(() => sts.reset());
  afterAll(() => sts.restore());

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

  it('classifies a throttling error as 429 and anything else as a 503 naming the error', async () => {
    sts.on(AssumeRoleCommand).rejects(awsError('Throttling', 400));
    await expect(adapter().assumeRole(input)).rejects.toBeInstanceOf(ThrottledError);
    sts.on(AssumeRoleCommand).rejects(awsError('AccessDenied', 403));
    const error = await adapter()
      .assumeRole(input)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect(error).toMatchObject({ httpStatus: 503, dependency: 'credentials' });
    expect((error as Error).message).toContain('AccessDenied');
    expect((error as Error).message).not.toContain(ROLE);
  });

  it('fails closed when STS answers without credentials', async () => {
    sts.on(AssumeRoleCommand).resolves({});
    await expect(adapter().assumeRole(input)).rejects.toMatchObject({ dependency: 'credentials' });
  });

  it('calls the regional STS endpoint with the SDK retry strategy bounded to maxAttempts', async () => {
    const config = adapter().client.config;
    expect(await config.region()).toBe('eu-west-1');
    const strategy = (await config.retryStrategy()) as unknown as {
      mode: string;
      maxAttempts(): Promise<number>;
    };
    expect(strategy.mode).toBe('standard');
    expect(await strategy.maxAttempts()).toBe(3);
    const endpoint = config.endpointProvider({
      Region: await config.region(),
      UseGlobalEndpoint: config.useGlobalEndpoint as boolean,
      UseFIPS: false,
      UseDualStack: false,
    });
    expect(endpoint.url.hostname).toBe('sts.eu-west-1.amazonaws.com');
  });
});

describe('fullJitterDelayMs', () => {
  it('waits a random part of a window that doubles with each retry', () => {
    expect([1, 2, 3].map((retry) => fullJitterDelayMs(retry, 100, () => 0.5))).toEqual([50, 100, 200]);
    expect(fullJitterDelayMs(3, 100, () => 0)).toBe(0);
  });
});

/**
 * aws-sdk-client-mock replaces `send`, so the SDK's middleware (retries included) never runs under
 * it. These tests run the real client against a local HTTP server that speaks STS's query protocol,
 * so the number of requests the server sees is the number of attempts the SDK really made.
 */
describe('StsCredentials (SDK retries, against a local STS endpoint)', () => {
  type Answer = { status: number; body: string };
  const answers: Answer[] = [];
  const bodies: string[] = [];
  let server: Server;
  let endpoint: string;
  const ok: Answer = {
    status: 200,
    body: `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<SourceIdentity>agent</SourceIdentity>
<AssumedRoleUser><Arn>${OK.AssumedRoleUser.Arn}</Arn><AssumedRoleId>${OK.AssumedRoleUser.AssumedRoleId}</AssumedRoleId></AssumedRoleUser>
<Credentials><AccessKeyId>ASIASESSIONKEY000001</AccessKeyId><SecretAccessKey>session-secret</SecretAccessKey><SessionToken>session-token</SessionToken><Expiration>2030-01-01T12:15:00Z</Expiration></Credentials>
</AssumeRoleResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></AssumeRoleResponse>`,
  };
  const fault = (status: number, code: string): Answer => ({
    status,
    body: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${code} happened</Message></Error><RequestId>r-2</RequestId></ErrorResponse>`,
  });
  const adapter = () =>
    new StsCredentials({
      region: 'eu-west-1',
      maxAttempts: 3,
      random: () => 0,
      client: { endpoint, credentials: { accessKeyId: 'AKIDBROKER', secretAccessKey: 'broker-secret' } },
    });

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString('utf8'));
        const answer = answers.shift() ?? fault(500, 'NoAnswerScripted');
        res.writeHead(answer.status, { 'content-type': 'text/xml' }).end(answer.body);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());
  afterEach(() => {
    answers.length = 0;
    bodies.length = 0;
  });

  it('retries a throttled AssumeRole, then succeeds', async () => {
    answers.push(fault(400, 'Throttling'), fault(400, 'Throttling'), ok);
    const session = await adapter().assumeRole(input);
    expect(session.assumedRoleArn).toBe(OK.AssumedRoleUser.Arn);
    expect(session.credentials.expiration).toEqual(new Date('2030-01-01T12:15:00Z'));
    expect(bodies).toHaveLength(3);
    const form = new URLSearchParams(bodies[0]);
    expect(form.get('Action')).toBe('AssumeRole');
    expect(form.get('RoleArn')).toBe(ROLE);
    expect(form.get('RoleSessionName')).toBe('agent@01HZX3K7R8M9N0P1Q2R3S4T5V6');
  });

  it('answers 429 after maxAttempts throttled attempts', async () => {
    answers.push(fault(400, 'Throttling'), fault(400, 'Throttling'), fault(400, 'Throttling'), ok);
    const error = await adapter()
      .assumeRole(input)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThrottledError);
    expect((error as ThrottledError).httpStatus).toBe(429);
    expect(bodies).toHaveLength(3);
  });

  it('retries a transient 503 from STS', async () => {
    answers.push(fault(503, 'ServiceUnavailable'), ok);
    await adapter().assumeRole(input);
    expect(bodies).toHaveLength(2);
  });

  it('fails closed with 503 on AccessDenied after exactly one attempt', async () => {
    answers.push(fault(403, 'AccessDenied'), ok);
    const error = await adapter()
      .assumeRole(input)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect(error).toMatchObject({ httpStatus: 503, dependency: 'credentials' });
    expect((error as Error).message).toContain('AccessDenied');
    expect(bodies).toHaveLength(1);
  });
});
