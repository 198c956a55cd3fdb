/**
 * The kill switch end to end on the local stack: a real server (SigV4 edge, broker core, local
 * STS, secrets and executor ports, dynalite), the real `custody revoke` / `reinstate` code writing
 * into the server's table, and signed requests from the AWS SDK's signer.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../client/cli/exit-codes.ts';
import { localDeployment } from '../../lambda/adapters/local/deployment.ts';
import { DependencyError } from '../../lambda/core/errors.ts';
import type { AssumedSession } from '../../lambda/core/ports.ts';
import type { Sandbox } from '../../lambda/core/types.ts';
import { createSandbox } from '../../lambda/sandbox/index.ts';
import { runCli } from '../support/cli.ts';
import { ROOT, sdkSigned, startTestServer, type TestServer } from './support.ts';

/** The example policy plus a second principal on the sandbox profile. */
function policyWithSecondAgent(dir: string): string {
  const policy = JSON.parse(readFileSync(join(ROOT, 'custody.policy.json'), 'utf8')) as {
    principals: unknown[];
  };
  policy.principals.push({
    id: 'agent2',
    arn: 'arn:aws:iam::111122223333:role/custody-agent-2',
    grants: [{ profile: 'sandbox' }],
  });
  const file = join(dir, 'policy.json');
  writeFileSync(file, JSON.stringify(policy));
  return file;
}

describe('custody revoke on the local stack', () => {
  let t: TestServer;
  let sandbox: Sandbox;
  let dir: string;

  beforeAll(async () => {
    sandbox = createSandbox();
    dir = mkdtempSync(join(tmpdir(), 'custody-revoke-'));
    t = await startTestServer({ policyFile: policyWithSecondAgent(dir), sandbox });
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    await sandbox?.close?.();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (args: string[]) => runCli(args, { env: { CUSTODY_HOME: t.home }, cwd: ROOT });

  async function execute(principal: string, profile: string, code = 'console.log("ran")') {
    const res = await sdkSigned({
      identity: t.identity(principal),
      url: `${t.server.url}/v1/executions`,
      body: JSON.stringify({ profile, language: 'javascript', code }),
    });
    const body = JSON.parse(res.body) as {
      status?: string;
      stdout?: string;
      error?: { code: string; message: string; executionId?: string };
    };
    return { status: res.status, body };
  }

  /** A session minted by the server's own STS, as the broker would mint it. */
  function mint(profile: string, name: string): Promise<AssumedSession> {
    const deployment = localDeployment(t.server.policy, t.server.region);
    return t.server.credentials.assumeRole({
      roleArn: deployment.profiles[profile]!.roleArn,
      sessionName: name,
      sourceIdentity: 'agent',
      tags: {},
      sessionPolicy: '{}',
      durationSeconds: 900,
    });
  }

  const request = { executionId: 'e2e-direct', language: 'javascript' as const, code: 'console.log(1)' };
  const limits = { timeoutMs: 5_000, memoryMiB: 64, maxOutputBytes: 10_000 };

  let before: { sandbox: AssumedSession; reports: AssumedSession };

  it('runs before anything is revoked', async () => {
    before = { sandbox: await mint('sandbox', 'pre-sandbox'), reports: await mint('reports', 'pre-reports') };
    const res = await execute('agent', 'sandbox');
    expect(res.status).toBe(200);
    expect(res.body.stdout).toBe('ran\n');
  });

  it('refuses new executions of a revoked profile with 403 PROFILE_REVOKED, audited', async () => {
    const revoke = await cli(['revoke', '--profile', 'sandbox', '--reason', 'suspected key leak']);
    expect(revoke.stderr).toBe('');
    expect(revoke.code).toBe(EXIT.succeeded);
    expect(revoke.stdout).toContain('profile sandbox revoked at');

    const res = await execute('agent', 'sandbox');
    expect(res.status).toBe(403);
    expect(res.body.error?.code).toBe('PROFILE_REVOKED');
    const records = await t.server.auditStore.get(res.body.error?.executionId as string);
    expect(records.map((r) => [r.event, r.decision.reason])).toEqual([['denied', 'PROFILE_REVOKED']]);

    // The action itself is on record, with its operator and reason.
    const recent = await t.server.auditStore.listRecent({ limit: 10 });
    const revoked = recent.find((r) => r.event === 'revoked');
    expect(revoked).toMatchObject({
      caller: { arn: expect.stringMatching(/^local:/) },
      decision: { reason: 'PROFILE_REVOKED' },
      revocation: { scope: 'profile', target: 'sandbox', reason: 'suspected key leak' },
      origin: 'local',
    });
    // ... and in the audit log.
    expect(readFileSync(t.server.paths.auditLog, 'utf8')).toContain('"event":"revoked"');
  });

  it('leaves other profiles running', async () => {
    const res = await execute('agent', 'reports');
    expect(res.status).toBe(200);
  });

  it('refuses a session minted before the revocation at the executor, and lets a newer one through', async () => {
    const refused = await t.server.executor
      .run(before.sandbox, 'sandbox', { ...request, limits })
      .catch((e) => e);
    expect(refused).toBeInstanceOf(DependencyError);
    expect((refused as Error).message).toMatch(/issued before its profile's sessions were revoked/);
    const fresh = await mint('sandbox', 'post-sandbox');
    const result = await t.server.executor.run(fresh, 'sandbox', { ...request, limits });
    expect(result.status).toBe('succeeded');
  });

  it('refuses a session minted before the revocation at the secrets port', async () => {
    const ref = [{ variable: 'REPORT_API_TOKEN', secretId: 'custody/reports/api-token' }];
    expect(Object.keys(await t.server.secrets.read(before.reports, ref))).toEqual(['REPORT_API_TOKEN']);
    expect((await cli(['revoke', '--profile', 'reports'])).code).toBe(EXIT.succeeded);
    await expect(t.server.secrets.read(before.reports, ref)).rejects.toThrow(
      /secrets read refused: .*revoked/,
    );
    expect((await cli(['reinstate', '--profile', 'reports'])).code).toBe(EXIT.succeeded);
  });

  it('runs again after reinstatement, while the old sessions stay dead', async () => {
    const reinstate = await cli(['reinstate', '--profile', 'sandbox']);
    expect(reinstate.code).toBe(EXIT.succeeded);
    expect(reinstate.stdout).toContain('profile sandbox reinstated');
    const res = await execute('agent', 'sandbox');
    expect(res.status).toBe(200);
    await expect(t.server.executor.run(before.sandbox, 'sandbox', { ...request, limits })).rejects.toThrow(
      /issued before/,
    );
    const recent = await t.server.auditStore.listRecent({ limit: 20 });
    expect(recent.some((r) => r.event === 'reinstated' && r.revocation?.target === 'sandbox')).toBe(true);
  });

  it('says nothing changed when reinstating what is not revoked, and writes no record', async () => {
    const out = await cli(['reinstate', '--principal', 'agent2']);
    expect(out.code).toBe(EXIT.succeeded);
    expect(out.stdout).toContain('principal agent2 is not revoked; nothing changed');
  });

  it('suspends a principal: 403 PRINCIPAL_SUSPENDED for it, other principals unaffected', async () => {
    expect((await cli(['revoke', '--principal', 'agent'])).code).toBe(EXIT.succeeded);
    const refused = await execute('agent', 'sandbox');
    expect(refused.status).toBe(403);
    expect(refused.body.error?.code).toBe('PRINCIPAL_SUSPENDED');
    const records = await t.server.auditStore.get(refused.body.error?.executionId as string);
    expect(records.map((r) => r.decision.reason)).toEqual(['PRINCIPAL_SUSPENDED']);

    const other = await execute('agent2', 'sandbox');
    expect(other.status).toBe(200);

    expect((await cli(['reinstate', '--principal', 'agent'])).code).toBe(EXIT.succeeded);
    expect((await execute('agent', 'sandbox')).status).toBe(200);
  });

  it('names a target the policy does not know, and changes nothing', async () => {
    const out = await cli(['revoke', '--profile', 'sandbx']);
    expect(out.code).toBe(EXIT.usage);
    expect(out.stderr).toContain(
      '--profile: "sandbx" is not a profile of the policy (sandbox, reports, remediation)',
    );
    const noTarget = await cli(['revoke']);
    expect(noTarget.code).toBe(EXIT.usage);
    expect(noTarget.stderr).toContain('give exactly one of --profile NAME or --principal ID');
  });

  it('fails closed when the revocation state cannot be read: 503, nothing runs', async () => {
    const stsLogBefore = readFileSync(t.server.paths.stsLog, 'utf8');
    const dynamo = new DynamoDBClient({
      endpoint: t.server.info.dynamodbEndpoint,
      region: t.server.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      await dynamo.send(new DeleteTableCommand({ TableName: t.server.info.auditTableName }));
    } finally {
      dynamo.destroy();
    }
    const res = await execute('agent2', 'sandbox', 'console.log("must not run")');
    expect(res.status).toBe(503);
    expect(res.body.error?.code).toBe('DEPENDENCY_UNAVAILABLE');
    // No session was issued: nothing reached STS, secrets or the sandbox.
    expect(readFileSync(t.server.paths.stsLog, 'utf8')).toBe(stsLogBefore);
    // The refusal is still on record, in the audit log.
    const lines = readFileSync(t.server.paths.auditLog, 'utf8').trim().split('\n');
    expect(JSON.parse(lines.at(-1) as string)).toMatchObject({
      event: 'denied',
      decision: { reason: 'DEPENDENCY_UNAVAILABLE' },
    });
  });
});
