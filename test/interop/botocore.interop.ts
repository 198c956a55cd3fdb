/**
 * Interoperability with botocore's SigV4 signer (the AWS SDK for Python), against the local
 * server. Needs botocore at /usr/bin/python3 (Debian's awscli bundles it), so it runs only in
 * `npm run test:interop`, which `.ci/run` runs after installing awscli; `npm test` signs the same
 * requests with aws4.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import { custody, startTestServer, type TestServer } from '../e2e/support.ts';
import { botocore } from './botocore-signer.ts';

let t: TestServer;
let executions: string;

beforeAll(async () => {
  t = await startTestServer();
  executions = `${t.server.url}/v1/executions`;
});
afterAll(async () => t?.stop());

describe('requests signed by botocore', () => {
  it('runs Python and lists profiles', async () => {
    const run = await botocore({
      identity: t.identity('agent'),
      method: 'POST',
      url: executions,
      body: JSON.stringify({
        profile: 'sandbox',
        language: 'python',
        code: 'import math\nprint(math.factorial(10))',
      }),
    });
    expect(run.status).toBe(200);
    expect(JSON.parse(run.body)).toMatchObject({ status: 'succeeded', stdout: '3628800\n' });
    const profiles = await botocore({
      identity: t.identity('agent'),
      method: 'GET',
      url: `${t.server.url}/v1/profiles`,
    });
    expect(profiles.status).toBe(200);
    expect(JSON.parse(profiles.body).profiles.map((p: { name: string }) => p.name)).toEqual([
      'sandbox',
      'reports',
      'remediation',
    ]);
  });

  it('accepts a long-term user key (no session token)', async () => {
    const res = await botocore({
      identity: t.identity('stranger'),
      method: 'GET',
      url: `${t.server.url}/v1/profiles`,
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ profiles: [] });
  });

  it('reads an execution record as its caller, and a stranger gets 404', async () => {
    const run = await custody(
      ['run', '--profile', 'sandbox', '-l', 'js', '-c', '1 + 1', '--json'],
      t.cliEnv('agent'),
    );
    const { executionId } = JSON.parse(run.stdout) as { executionId: string };
    const url = `${t.server.url}/v1/executions/${executionId}`;
    const mine = await botocore({ identity: t.identity('agent'), method: 'GET', url });
    expect(mine.status).toBe(200);
    expect(JSON.parse(mine.body).records.map((r: AuditRecord) => r.event)).toEqual(['started', 'completed']);
    expect((await botocore({ identity: t.identity('stranger'), method: 'GET', url })).status).toBe(404);
  });
});
