/**
 * `custody revoke` / `reinstate` against a deployed stack: CloudFormation, STS, IAM and CloudWatch
 * Logs mocked (exact inputs asserted), the audit table a real DynamoDB-compatible server.
 * The local path runs end to end in test/e2e/revocation.test.ts.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { EXIT } from '../../../../client/cli/exit-codes.ts';
import { main } from '../../../../client/cli/main.ts';
import { DynamoDbAuditStore } from '../../../../lambda/adapters/aws/dynamodb-audit-store.ts';
import { DynamoDbRevocationStore } from '../../../../lambda/adapters/aws/dynamodb-revocation-store.ts';
import { revokeOlderSessionsPolicy } from '../../../../lambda/adapters/aws/iam-session-revocation.ts';
import { roleNameOutputKey } from '../../../../lambda/core/stack-outputs.ts';
import { captureIo, runCli } from '../../../support/cli.ts';
import { type RunningDynalite, startDynalite } from '../../../support/dynalite.ts';

const NOW = new Date('2030-01-01T12:00:00.000Z');
const env = {
  AWS_ACCESS_KEY_ID: 'AKIAOPERATOR00000001',
  AWS_SECRET_ACCESS_KEY: 'operator-secret',
  AWS_REGION: 'eu-west-1',
  AWS_EC2_METADATA_DISABLED: 'true',
};
const OPERATOR = 'arn:aws:sts::111122223333:assumed-role/ops/alice';

describe('custody revoke on AWS', () => {
  const cfn = mockClient(CloudFormationClient);
  const sts = mockClient(STSClient);
  const iam = mockClient(IAMClient);
  const logs = mockClient(CloudWatchLogsClient);
  let db: RunningDynalite;

  beforeAll(async () => {
    db = await startDynalite();
    // The SDK's default chain reads the process environment: the operator's own credentials.
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    cfn.restore();
    sts.restore();
    iam.restore();
    logs.restore();
    await db.stop();
  });
  beforeEach(() => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'Custody',
          CreationTime: NOW,
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [
            { OutputKey: 'AuditTableName', OutputValue: db.tableName },
            { OutputKey: 'ApiUrl', OutputValue: 'https://x.execute-api.eu-west-1.amazonaws.com/prod/' },
            { OutputKey: roleNameOutputKey('sandbox'), OutputValue: 'Custody-ExecutionRoleSandbox-XYZ' },
            { OutputKey: roleNameOutputKey('reports'), OutputValue: 'Custody-ExecutionRoleReports-XYZ' },
          ],
        },
      ],
    });
    sts
      .on(GetCallerIdentityCommand)
      .resolves({ Arn: OPERATOR, Account: '111122223333', UserId: 'AROA:alice' });
    iam.on(PutRolePolicyCommand).resolves({});
    logs.on(CreateLogStreamCommand).resolves({});
    logs.on(PutLogEventsCommand).resolves({});
  });
  afterEach(() => {
    cfn.reset();
    sts.reset();
    iam.reset();
    logs.reset();
  });

  async function run(action: 'revoke' | 'reinstate', args: string[], at = NOW) {
    const { io, out } = captureIo({ env, cwd: '/' });
    const code = await main([action, ...args, '--endpoint', db.endpoint], io, { clock: () => at });
    return { code, ...out };
  }

  const revocations = () => new DynamoDbRevocationStore({ client: db.client, tableName: db.tableName });
  const audit = () => new DynamoDbAuditStore({ client: db.client, tableName: db.tableName });

  it('revokes a profile: table state, the role deny from the stack outputs, and an audit record', async () => {
    const out = await run('revoke', ['--profile', 'sandbox', '--stack', 'Custody', '--reason', 'incident 7']);
    expect(out.code).toBe(EXIT.succeeded);
    expect(cfn).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'Custody' });
    expect(iam).toHaveReceivedCommandTimes(PutRolePolicyCommand, 1);
    expect(iam).toHaveReceivedCommandWith(PutRolePolicyCommand, {
      RoleName: 'Custody-ExecutionRoleSandbox-XYZ',
      PolicyName: 'custody-revoke-older-sessions',
      PolicyDocument: revokeOlderSessionsPolicy(NOW),
    });
    expect(await revocations().get('profile', 'sandbox')).toMatchObject({
      revoked: true,
      revokedAt: NOW.toISOString(),
      revokedBy: OPERATOR,
      reason: 'incident 7',
      sessionsIssuedBefore: NOW.toISOString(),
    });
    const records = (await audit().listRecent({ limit: 10 })).filter((r) => r.event === 'revoked');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      timestamp: NOW.toISOString(),
      caller: { arn: OPERATOR, accountId: '111122223333' },
      decision: { allowed: true, reason: 'PROFILE_REVOKED' },
      revocation: {
        scope: 'profile',
        target: 'sandbox',
        reason: 'incident 7',
        sessionsIssuedBefore: NOW.toISOString(),
        roleName: 'Custody-ExecutionRoleSandbox-XYZ',
      },
      origin: 'aws',
    });
    expect(out.stdout).toContain('inline policy custody-revoke-older-sessions');
    // The action's audit line goes to the stack's audit log group, as every record's does.
    expect(logs).toHaveReceivedCommandWith(PutLogEventsCommand, { logGroupName: '/custody/Custody/audit' });
    expect(out.stderr).toBe('');
  });

  it('writes the audit line to the log group it is given', async () => {
    const out = await run('reinstate', [
      '--profile',
      'sandbox',
      '--stack',
      'Custody',
      '--log-group',
      '/custody/audit',
    ]);
    expect(out.code).toBe(EXIT.succeeded);
    expect(logs).toHaveReceivedCommandWith(PutLogEventsCommand, { logGroupName: '/custody/audit' });
    // Reinstating puts no policy: the deny stays for the sessions it killed.
    expect(iam).toHaveReceivedCommandTimes(PutRolePolicyCommand, 0);
    expect(await revocations().get('profile', 'sandbox')).toMatchObject({
      revoked: false,
      sessionsIssuedBefore: NOW.toISOString(),
    });
  });

  it('suspends a principal with --table, touching no role', async () => {
    const out = await run('revoke', ['--principal', 'agent', '--table', db.tableName]);
    expect(out.code).toBe(EXIT.succeeded);
    expect(iam).toHaveReceivedCommandTimes(PutRolePolicyCommand, 0);
    expect(cfn).toHaveReceivedCommandTimes(DescribeStacksCommand, 0);
    expect((await revocations().get('principal', 'agent'))?.revoked).toBe(true);
    expect(logs).toHaveReceivedCommandTimes(PutLogEventsCommand, 0);
    expect(out.stderr).toContain('no --log-group (or --stack) given: the record is in the audit table only');
  });

  it('still records the revocation but fails loudly when IAM refuses the role deny', async () => {
    iam
      .on(PutRolePolicyCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    const at = new Date('2030-01-01T13:00:00.000Z');
    const out = await run('revoke', ['--profile', 'reports', '--stack', 'Custody'], at);
    expect(out.code).toBe(EXIT.unavailable);
    expect(out.stderr).toContain('sessions already issued are NOT revoked');
    expect(out.stderr).toContain('AccessDenied: not authorized');
    expect((await revocations().get('profile', 'reports'))?.revoked).toBe(true);
    const record = (await audit().listRecent({ limit: 20 })).find(
      (r) => r.event === 'revoked' && r.revocation?.target === 'reports',
    );
    expect(record?.revocation?.roleName).toBeUndefined();
  });

  it('names the profiles the stack has when asked for another', async () => {
    const out = await run('revoke', ['--profile', 'nightly', '--stack', 'Custody']);
    expect(out).toMatchObject({
      code: EXIT.usage,
      stderr: `${'--profile: stack Custody has no execution role for profile "nightly" (profiles: sandbox, reports)'}\n`,
    });
    expect(await revocations().get('profile', 'nightly')).toBeUndefined();
  });

  it('requires the role name to revoke a profile by --table', async () => {
    const out = await run('revoke', ['--profile', 'sandbox', '--table', db.tableName]);
    expect(out).toMatchObject({
      code: EXIT.usage,
      stderr: expect.stringMatching(/--role-name is required with --table/),
    });
  });

  it('refuses --stack and --table together', async () => {
    const out = await run('revoke', ['--principal', 'agent', '--stack', 'Custody', '--table', 'x']);
    expect(out).toMatchObject({
      code: EXIT.usage,
      stderr: `${'give either --stack NAME or --table NAME, not both'}\n`,
    });
  });
});

describe('custody revoke arguments', () => {
  it('exits 9 naming the missing local stack', async () => {
    const { code, stderr: err } = await runCli(['revoke', '--profile', 'sandbox'], {
      env: { CUSTODY_HOME: '/nonexistent/custody-home' },
      cwd: '/',
    });
    expect(code).toBe(EXIT.config);
    expect(err).toContain('no local stack');
  });

  it('exits 2 naming a malformed target', async () => {
    const { code, stderr: err } = await runCli(['revoke', '--principal', 'a#b'], { env: {}, cwd: '/' });
    expect(code).toBe(EXIT.usage);
    expect(err).toContain('--principal: principal "a#b" must be 1-64 characters');
  });
});
