import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import 'aws-sdk-client-mock-vitest/extend';
import { SWEEP_SESSIONS_EVENT } from '../../lambda/core/session.ts';
import { buildAwsBroker, createHandler, requestFromEvent } from '../../lambda/handlers/broker.ts';
import { BrokerConfigError, readBrokerConfig } from '../../lambda/handlers/broker-config.ts';
import { sandboxResult } from '../broker/fakes.ts';
import { ACCOUNT, brokerFixture, callers, deployment, policyDocument } from '../broker/fixture.ts';
import { sessionFixture } from '../broker/sessions/fixture.ts';

/** A Lambda response payload (the SDK's blob adapter is a Uint8Array with helpers the broker does not use). */
const payload = (value: unknown) =>
  Buffer.from(JSON.stringify(value)) as unknown as NonNullable<InvokeCommandOutput['Payload']>;

/** An API Gateway REST proxy event as AWS_IAM auth delivers it. */
function apiEvent(
  identity: {
    userArn: string | null;
    accountId: string | null;
    accessKey: string | null;
    caller?: string | null;
  },
  overrides: Partial<APIGatewayProxyEvent> = {},
): APIGatewayProxyEvent {
  return {
    resource: '/v1/executions',
    path: '/v1/executions',
    httpMethod: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Host: 'abc123.execute-api.eu-west-1.amazonaws.com',
      'X-Amz-Date': '20300101T120000Z',
      Authorization: 'AWS4-HMAC-SHA256 Credential=.../20300101/eu-west-1/execute-api/aws4_request, ...',
    },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: JSON.stringify({ profile: 'sandbox', language: 'python', code: 'print(2)' }),
    isBase64Encoded: false,
    requestContext: {
      accountId: ACCOUNT,
      apiId: 'abc123',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: 'POST',
      path: '/prod/v1/executions',
      stage: 'prod',
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      requestTimeEpoch: 1_893_499_200_000,
      resourceId: 'res123',
      resourcePath: '/v1/executions',
      identity: {
        accessKey: identity.accessKey,
        accountId: identity.accountId,
        apiKey: null,
        apiKeyId: null,
        caller: identity.caller ?? null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '198.51.100.7',
        user: null,
        userAgent: 'aws-sdk-js/3 custody-cli/0.1',
        userArn: identity.userArn,
      },
    },
    ...overrides,
  };
}

const assumedRoleCaller = {
  userArn: `arn:aws:sts::${ACCOUNT}:assumed-role/custody-agent/agent-session-1`,
  accountId: ACCOUNT,
  accessKey: 'ASIAAGENTSESSION0001',
  caller: 'AROAEXAMPLEROLEID:agent-session-1',
};
const iamUserCaller = {
  userArn: `arn:aws:iam::${ACCOUNT}:user/stranger`,
  accountId: ACCOUNT,
  accessKey: 'AKIASTRANGERUSER0001',
  caller: 'AIDAEXAMPLEUSERID',
};
const otherAccountCaller = {
  userArn: 'arn:aws:sts::444455556666:assumed-role/custody-agent/s1',
  accountId: '444455556666',
  accessKey: 'ASIAOTHERACCOUNT0001',
};

describe('Broker handler', () => {
  it('runs a request from an assumed-role caller', async () => {
    const f = brokerFixture();
    const res = await createHandler(() => f.api)(apiEvent(assumedRoleCaller));
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ status: 'succeeded', role: { sessionName: /^agent@/ } });
    expect(f.store.records[0]!.caller).toEqual({
      arn: assumedRoleCaller.userArn,
      principalArn: `arn:aws:iam::${ACCOUNT}:role/custody-agent`,
      principalId: 'agent',
      accountId: ACCOUNT,
      accessKeyId: 'ASIAAGENTSESSION0001',
      sourceIp: '198.51.100.7',
      userAgent: 'aws-sdk-js/3 custody-cli/0.1',
    });
  });

  it('refuses an IAM user without grants with NO_GRANT', async () => {
    const f = brokerFixture();
    const res = await createHandler(() => f.api)(apiEvent(iamUserCaller));
    expect(res.statusCode).toBe(403);
    expect(JSON.parse(res.body).error.code).toBe('NO_GRANT');
    expect(f.store.records[0]!.caller.principalId).toBe('stranger');
  });

  it('refuses a same-named role in another account with UNKNOWN_PRINCIPAL', async () => {
    const f = brokerFixture();
    const res = await createHandler(() => f.api)(apiEvent(otherAccountCaller));
    expect(res.statusCode).toBe(403);
    expect(JSON.parse(res.body).error.code).toBe('UNKNOWN_PRINCIPAL');
    expect(f.executor.calls).toHaveLength(0);
  });

  it('refuses an event with no signed identity', async () => {
    const f = brokerFixture();
    const res = await createHandler(() => f.api)(
      apiEvent({ userArn: null, accountId: null, accessKey: null }),
    );
    expect(res.statusCode).toBe(403);
    expect(f.store.records[0]!.caller.arn).toBe('anonymous');
  });

  it('decodes a base64 body', async () => {
    const body = JSON.stringify({ profile: 'sandbox', language: 'python', code: 'print(3)' });
    const req = requestFromEvent(
      apiEvent(assumedRoleCaller, { body: Buffer.from(body).toString('base64'), isBase64Encoded: true }),
    );
    expect(req.body).toBe(body);
    expect(req.requestId).toBe('c6af9ac6-7b61-11e6-9a41-93e8deadbeef');
  });

  it('serves GET /v1/profiles', async () => {
    const f = brokerFixture();
    const res = await createHandler(() => f.api)(
      apiEvent(assumedRoleCaller, {
        httpMethod: 'GET',
        path: '/v1/profiles',
        resource: '/v1/profiles',
        body: null,
      }),
    );
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body).profiles.map((p: { name: string }) => p.name)).toEqual([
      'sandbox',
      'reports',
    ]);
  });

  it('ends the sessions past their end when the schedule sends the sweep event, and only then', async () => {
    const f = sessionFixture();
    try {
      const started = await f.start(callers.agent, { profile: 'sandbox', ttlSeconds: 60 });
      const { sessionId } = JSON.parse(started.body) as { sessionId: string };
      f.advance(61);
      const handler = createHandler(() => f.api);
      // An API request carrying the field is an API request, never a sweep.
      const forged = await handler({ ...apiEvent(assumedRoleCaller), ...SWEEP_SESSIONS_EVENT });
      expect(forged.statusCode).toBe(200);
      expect(f.sessions.records.get(sessionId)?.status).toBe('active');
      const swept = await handler({ ...SWEEP_SESSIONS_EVENT });
      expect(JSON.parse(swept.body)).toEqual({ ended: 1 });
      expect(f.sessions.records.get(sessionId)).toMatchObject({ status: 'ended', endReason: 'expired' });
    } finally {
      f.removeVault();
    }
  });

  it('answers 503 and logs the reason when the broker cannot start', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const build = vi.fn(() => {
      throw new BrokerConfigError('Broker configuration invalid: CUSTODY_AUDIT_TABLE is not set');
    });
    const handle = createHandler(build);
    const res = await handle(apiEvent(assumedRoleCaller));
    await handle(apiEvent(assumedRoleCaller));
    expect(res.statusCode).toBe(503);
    expect(res.body).not.toContain('CUSTODY_AUDIT_TABLE');
    expect(build).toHaveBeenCalledTimes(1);
    expect(errors.mock.calls[0]![0]).toContain('CUSTODY_AUDIT_TABLE is not set');
    errors.mockRestore();
  });
});

describe('Broker configuration', () => {
  const env = {
    CUSTODY_DEPLOYMENT: JSON.stringify(deployment),
    CUSTODY_AUDIT_TABLE: 'custody-audit',
    CUSTODY_AUDIT_LOG_GROUP: '/custody/audit',
    AWS_REGION: 'eu-west-1',
    LAMBDA_TASK_ROOT: '/var/task',
  };

  it('reads the environment and resolves the policy file in the bundle', () => {
    const config = readBrokerConfig(env);
    expect(config).toMatchObject({
      auditTable: 'custody-audit',
      auditLogGroup: '/custody/audit',
      region: 'eu-west-1',
      policyFile: '/var/task/policy.json',
    });
    expect(config.deployment.profiles.reports?.secrets).toEqual(deployment.profiles.reports!.secrets);
  });

  it('names every missing variable', () => {
    expect(() => readBrokerConfig({ AWS_REGION: 'eu-west-1', LAMBDA_TASK_ROOT: '/nonexistent' })).toThrow(
      /CUSTODY_AUDIT_TABLE is not set; CUSTODY_AUDIT_LOG_GROUP is not set; CUSTODY_ACCOUNT is not set; CUSTODY_PARTITION is not set; the deployment file \/nonexistent\/deployment.json cannot be read \(ENOENT\) and CUSTODY_DEPLOYMENT is not set/,
    );
  });

  it('reads the deployment file in the bundle and derives each profile’s ARNs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'custody-broker-config-'));
    bundleDirs.push(dir);
    const file = {
      schemaVersion: 1,
      functionNamePrefix: 'custody-0123abcd-',
      roleNamePrefix: 'custody-0123abcd-',
      profiles: { reports: { secrets: { REPORT_API_TOKEN: 'custody/reports/api-token' } }, sandbox: {} },
    };
    writeFileSync(join(dir, 'deployment.json'), JSON.stringify(file));
    const { CUSTODY_DEPLOYMENT: _inline, ...withoutInline } = env;
    const config = readBrokerConfig({
      ...withoutInline,
      LAMBDA_TASK_ROOT: dir,
      CUSTODY_ACCOUNT: '111122223333',
      CUSTODY_PARTITION: 'aws',
    });
    expect(config.deployment.profiles).toEqual({
      reports: {
        roleArn: 'arn:aws:iam::111122223333:role/custody-0123abcd-eu-west-1-reports',
        executorArn: 'arn:aws:lambda:eu-west-1:111122223333:function:custody-0123abcd-reports',
        secrets: { REPORT_API_TOKEN: 'custody/reports/api-token' },
      },
      sandbox: {
        roleArn: 'arn:aws:iam::111122223333:role/custody-0123abcd-eu-west-1-sandbox',
        executorArn: 'arn:aws:lambda:eu-west-1:111122223333:function:custody-0123abcd-sandbox',
        secrets: {},
      },
    });
    writeFileSync(join(dir, 'deployment.json'), JSON.stringify({ ...file, profiles: { x: { secret: {} } } }));
    expect(() =>
      readBrokerConfig({
        ...withoutInline,
        LAMBDA_TASK_ROOT: dir,
        CUSTODY_ACCOUNT: '1',
        CUSTODY_PARTITION: 'aws',
      }),
    ).toThrow(/deployment.json: profiles.x: Unrecognized key/);
  });

  it('names the bad field of the deployment', () => {
    const bad = {
      profiles: { sandbox: { roleArn: 'custody-role', executorArn: 'arn:aws:lambda:x', secrets: {} } },
    };
    expect(() => readBrokerConfig({ ...env, CUSTODY_DEPLOYMENT: JSON.stringify(bad) })).toThrow(
      'CUSTODY_DEPLOYMENT.profiles.sandbox.roleArn: must be an ARN',
    );
    expect(() => readBrokerConfig({ ...env, CUSTODY_DEPLOYMENT: '{' })).toThrow('not valid JSON');
  });
});

/** The bundle folders `awsBroker` made, removed when the file's tests are done. */
const bundleDirs: string[] = [];
afterAll(() => {
  for (const dir of bundleDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The broker as the Lambda builds it at cold start, from a bundle folder holding the policy. */
function awsBroker() {
  const dir = mkdtempSync(join(tmpdir(), 'custody-broker-'));
  bundleDirs.push(dir);
  writeFileSync(join(dir, 'policy.json'), JSON.stringify(policyDocument));
  return buildAwsBroker(
    readBrokerConfig({
      CUSTODY_DEPLOYMENT: JSON.stringify(deployment),
      CUSTODY_AUDIT_TABLE: 'custody-audit',
      CUSTODY_AUDIT_LOG_GROUP: '/custody/audit',
      AWS_REGION: 'eu-west-1',
      LAMBDA_TASK_ROOT: dir,
    }),
  );
}

describe('Broker on AWS adapters', () => {
  const sts = mockClient(STSClient);
  const lambda = mockClient(LambdaClient);
  const dynamo = mockClient(DynamoDBClient);
  const logs = mockClient(CloudWatchLogsClient);
  afterEach(() => {
    sts.reset();
    lambda.reset();
    dynamo.reset();
    logs.reset();
  });

  it('runs an execution end to end through STS, Lambda, DynamoDB and CloudWatch Logs', async () => {
    sts.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'ASIASESSIONKEY000001',
        SecretAccessKey: 'sessionsecret',
        SessionToken: 'sessiontoken',
        Expiration: new Date('2030-01-01T12:15:00Z'),
      },
      AssumedRoleUser: {
        Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/custody-exec-sandbox/x`,
        AssumedRoleId: 'AROA:x',
      },
      SourceIdentity: 'agent',
    });
    lambda
      .on(InvokeCommand)
      .resolves({ StatusCode: 200, Payload: payload(sandboxResult({ stdout: '2\n' })) });
    dynamo.on(PutItemCommand).resolves({});
    // The kill switch: neither the principal nor the profile is revoked.
    dynamo.on(GetItemCommand).resolves({});
    logs.on(CreateLogStreamCommand).resolves({});
    logs.on(PutLogEventsCommand).resolves({});
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);

    const api = awsBroker();
    const res = await createHandler(() => api)(apiEvent(assumedRoleCaller));
    const emitted = stdout.mock.calls.map((c) => String(c[0])).join('');
    stdout.mockRestore();

    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body).stdout).toBe('2\n');
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, {
      FunctionName: deployment.profiles.sandbox!.executorArn,
      InvocationType: 'RequestResponse',
    });
    expect(dynamo).toHaveReceivedCommandTimes(PutItemCommand, 2);
    expect(dynamo).toHaveReceivedCommandWith(PutItemCommand, { TableName: 'custody-audit' });
    for (const pk of ['revocation#principal#agent', 'revocation#profile#sandbox']) {
      expect(dynamo).toHaveReceivedCommandWith(GetItemCommand, {
        TableName: 'custody-audit',
        Key: { pk: { S: pk }, sk: { S: 'state' } },
        ConsistentRead: true,
      });
    }
    expect(logs).toHaveReceivedCommandWith(PutLogEventsCommand, { logGroupName: '/custody/audit' });
    expect(emitted).toContain('"Namespace":"Custody"');
    expect(emitted).toContain('"Executions"');
  });

  it('tries a failing audit write only as often as the store retries, then keeps the record in the log', async () => {
    const throttled = Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
      name: 'ProvisionedThroughputExceededException',
      $metadata: { httpStatusCode: 400 },
    });
    dynamo.on(PutItemCommand).rejects(throttled);
    // Not revoked; and the lost-response check finds nothing stored.
    dynamo.on(GetItemCommand).resolves({});
    dynamo.on(QueryCommand).resolves({ Items: [] });
    logs.on(CreateLogStreamCommand).resolves({});
    logs.on(PutLogEventsCommand).resolves({});
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);

    const api = awsBroker();
    // The stranger holds no grant: one denied record, which the table refuses every time.
    const res = await createHandler(() => api)(apiEvent(iamUserCaller));
    stdout.mockRestore();
    stderr.mockRestore();

    expect(res.statusCode).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'NO_GRANT', auditPending: true } });
    // DynamoDbAuditStore's own 3 attempts, and no second round from the broker on top of them.
    expect(dynamo).toHaveReceivedCommandTimes(PutItemCommand, 3);
    expect(logs).toHaveReceivedCommandWith(PutLogEventsCommand, { logGroupName: '/custody/audit' });
  });
});
