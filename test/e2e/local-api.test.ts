/**
 * The local server end to end: real SigV4 from three signers this project did not write (curl,
 * aws4, the AWS SDK; botocore in `npm run test:interop`), the real CLI, the real sandboxes, the
 * real audit store (dynalite) and log.
 *
 * Over 400 lines on purpose: one local server (a few seconds to start, with its Python pool) serves
 * every case here.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import {
  aws4Signed,
  curl,
  curlSigv4,
  custody,
  findRecord,
  sdkSigned,
  startTestServer,
  type TestServer,
} from './support.ts';

let t: TestServer;
let executions: string;

beforeAll(async () => {
  t = await startTestServer();
  executions = `${t.server.url}/v1/executions`;
});
afterAll(async () => t?.stop());

const recent = () => t.server.auditStore.listRecent({ limit: 500 });

describe('custody run (the CLI) against local mode', () => {
  it('runs Python code given with -c and prints its output and a summary', async () => {
    const out = await custody(
      ['run', '--profile', 'sandbox', '--language', 'python', '-c', 'print(6 * 7)'],
      t.cliEnv('agent'),
    );
    expect(out.stdout).toBe('42\n');
    expect(out.stderr).toMatch(
      /custody: succeeded in \d+ ms · execution \w+ · role session agent@\w+ \(arn:aws:iam::111122223333:role\/custody-exec-sandbox\)/,
    );
    expect(out.code).toBe(0);
  });

  it('runs a TypeScript file, inferring the language from its extension', async () => {
    const file = join(t.home, 'hello.ts');
    writeFileSync(file, 'const n: number = 21;\nconsole.log("ts says", n * 2);\n');
    const out = await custody(['run', '--profile', 'sandbox', file, '--json'], t.cliEnv('agent'));
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ status: 'succeeded', stdout: 'ts says 42\n' });
  });

  it('runs JavaScript from stdin and exits 1 when the code throws', async () => {
    const out = await custody(
      ['run', '--profile', 'sandbox', '--language', 'javascript'],
      t.cliEnv('agent'),
      'console.log("before"); throw new TypeError("bad input");',
    );
    expect(out.stdout).toBe('before\n');
    expect(out.stderr).toContain('TypeError');
    expect(out.stderr).toContain('custody: failed');
    expect(out.code).toBe(1);
  });

  it('exits 6 with the reason code when the policy denies the caller', async () => {
    const out = await custody(
      ['run', '--profile', 'sandbox', '--language', 'python', '-c', 'print(1)'],
      t.cliEnv('stranger'),
    );
    expect(out.code).toBe(6);
    expect(out.stderr).toMatch(/denied, NO_GRANT/);
  });

  it('lists the profiles of the caller, and shows its execution records', async () => {
    const profiles = await custody(['profiles'], t.cliEnv('agent'));
    expect(profiles.code).toBe(0);
    expect(profiles.stdout).toMatch(/^sandbox\s/m);
    expect(profiles.stdout).toMatch(/^reports\s.*secrets: REPORT_API_TOKEN/m);
    const run = await custody(
      ['run', '--profile', 'sandbox', '-l', 'js', '-c', 'console.log(1)', '--purpose', 'e2e show', '--json'],
      t.cliEnv('agent'),
    );
    const { executionId } = JSON.parse(run.stdout) as { executionId: string };
    const show = await custody(['show', executionId], t.cliEnv('agent'));
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(new RegExp(`started\\s+${executionId}`));
    expect(show.stdout).toMatch(new RegExp(`completed ${executionId}.*succeeded`));
    expect(show.stdout).toContain('purpose       e2e show');
  });
});

describe('independent signers', () => {
  it('accepts an execution signed by curl --aws-sigv4 with the session token', async () => {
    const res = await curl([
      ...curlSigv4(t.identity('agent')),
      '-H',
      'content-type: application/json',
      '-d',
      JSON.stringify({
        profile: 'sandbox',
        language: 'javascript',
        code: 'console.log([1,2,3].map(x => x * 2).join(","))',
      }),
      executions,
    ]);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ status: 'succeeded', stdout: '2,4,6\n' });
  });

  it('accepts a Python execution and a profile listing signed by aws4', async () => {
    const run = await aws4Signed({
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
    const profiles = await aws4Signed({
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

  it('accepts a long-term user key signed by aws4 (no session token)', async () => {
    const res = await aws4Signed({
      identity: t.identity('stranger'),
      method: 'GET',
      url: `${t.server.url}/v1/profiles`,
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ profiles: [] });
  });
});

describe('rejections at the edge: status, code and an audit record', () => {
  const body = JSON.stringify({ profile: 'sandbox', language: 'javascript', code: 'console.log(1)' });

  async function expectAuditedDenial(marker: string, code: string) {
    const record = await findRecord(recent, (r) => r.caller.userAgent === marker);
    expect(record).toMatchObject({
      event: 'denied',
      decision: { allowed: false, reason: code },
      origin: 'local',
    });
    const log = readFileSync(t.server.paths.auditLog, 'utf8');
    expect(log).toContain(marker);
    return record as AuditRecord;
  }

  it('refuses an unsigned request', async () => {
    const res = await curl([
      '-A',
      'e2e-unsigned',
      '-H',
      'content-type: application/json',
      '-d',
      body,
      executions,
    ]);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error.code).toBe('MISSING_AUTHENTICATION');
    const record = await expectAuditedDenial('e2e-unsigned', 'MISSING_AUTHENTICATION');
    expect(record.caller.arn).toBe('anonymous');
  });

  it('refuses a request whose body was changed after signing', async () => {
    const res = await sdkSigned({
      identity: t.identity('agent'),
      url: executions,
      body,
      userAgent: 'e2e-tampered-body',
      tamper: (r) => {
        r.body = body.replace('console.log(1)', 'console.log(2)');
      },
    });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error.code).toBe('INVALID_PAYLOAD_HASH');
    const record = await expectAuditedDenial('e2e-tampered-body', 'INVALID_PAYLOAD_HASH');
    expect(record.caller.accessKeyId).toBe(t.identity('agent').accessKeyId);
    expect(record.caller.principalId).toBeUndefined();
  });

  it('refuses a request whose signed header was changed after signing', async () => {
    const res = await sdkSigned({
      identity: t.identity('agent'),
      url: executions,
      body,
      userAgent: 'e2e-tampered-header',
      tamper: (r) => {
        r.headers['content-type'] = 'text/plain';
      },
    });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error.code).toBe('INVALID_SIGNATURE');
    await expectAuditedDenial('e2e-tampered-header', 'INVALID_SIGNATURE');
  });

  it('refuses a signature scoped to another region', async () => {
    const res = await curl([
      ...curlSigv4(t.identity('agent'), 'eu-west-1'),
      '-A',
      'e2e-region',
      '-d',
      body,
      executions,
    ]);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error.code).toBe('WRONG_REGION');
    await expectAuditedDenial('e2e-region', 'WRONG_REGION');
  });

  it('refuses a signature scoped to another service', async () => {
    const res = await curl([
      ...curlSigv4(t.identity('agent'), 'us-east-1', 'lambda'),
      '-A',
      'e2e-service',
      '-d',
      body,
      executions,
    ]);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error.code).toBe('WRONG_SERVICE');
    await expectAuditedDenial('e2e-service', 'WRONG_SERVICE');
  });

  it('refuses a request signed more than five minutes ago', async () => {
    const res = await sdkSigned({
      identity: t.identity('agent'),
      url: executions,
      body,
      userAgent: 'e2e-expired',
      signingDate: new Date(Date.now() - 6 * 60_000),
    });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error.code).toBe('SIGNATURE_EXPIRED');
    await expectAuditedDenial('e2e-expired', 'SIGNATURE_EXPIRED');
  });

  it('refuses a request dated more than five minutes in the future', async () => {
    const res = await sdkSigned({
      identity: t.identity('agent'),
      url: executions,
      body,
      userAgent: 'e2e-future',
      signingDate: new Date(Date.now() + 6 * 60_000),
    });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error.code).toBe('SIGNATURE_NOT_YET_CURRENT');
    await expectAuditedDenial('e2e-future', 'SIGNATURE_NOT_YET_CURRENT');
  });

  it('refuses an access key it never issued', async () => {
    const res = await curl([
      '--aws-sigv4',
      'aws:amz:us-east-1:execute-api',
      '--user',
      'AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      '-A',
      'e2e-unknown-key',
      '-d',
      body,
      executions,
    ]);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error.code).toBe('UNKNOWN_ACCESS_KEY');
    const record = await expectAuditedDenial('e2e-unknown-key', 'UNKNOWN_ACCESS_KEY');
    expect(record.caller.accessKeyId).toBe('AKIAIOSFODNN7EXAMPLE');
  });

  it('refuses a correctly signed stranger, attributing the denial to the stranger', async () => {
    const res = await curl([
      ...curlSigv4(t.identity('stranger')),
      '-A',
      'e2e-stranger',
      '-d',
      body,
      executions,
    ]);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error.code).toBe('NO_GRANT');
    const record = await expectAuditedDenial('e2e-stranger', 'NO_GRANT');
    expect(record.caller).toMatchObject({
      arn: 'arn:aws:iam::111122223333:user/stranger',
      principalId: 'stranger',
    });
  });

  it('refuses a body over 6 MB with 413, audited', async () => {
    const big = JSON.stringify({
      profile: 'sandbox',
      language: 'javascript',
      code: `//${'x'.repeat(6 * 1024 * 1024)}`,
    });
    const res = await sdkSigned({
      identity: t.identity('agent'),
      url: executions,
      body: big,
      userAgent: 'e2e-too-large',
    });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error.code).toBe('PAYLOAD_TOO_LARGE');
    await expectAuditedDenial('e2e-too-large', 'PAYLOAD_TOO_LARGE');
  });
});

describe('a granted secret', () => {
  const secretValue = () =>
    (JSON.parse(readFileSync(t.server.paths.secretsFile, 'utf8')) as Record<string, string>)[
      'custody/reports/api-token'
    ] as string;

  it('is usable by the code of the profile that grants it, and never leaves in the response, store or log', async () => {
    const secret = secretValue();
    const code = [
      'import os, hashlib',
      'token = os.environ["REPORT_API_TOKEN"]',
      'print("len", len(token))',
      'print("sha", hashlib.sha256(token.encode()).hexdigest())',
      'print("raw", token)',
    ].join('\n');
    const res = await aws4Signed({
      identity: t.identity('agent'),
      method: 'POST',
      url: executions,
      body: JSON.stringify({ profile: 'reports', language: 'python', code }),
    });
    expect(res.status).toBe(200);
    const response = JSON.parse(res.body) as { executionId: string; stdout: string; status: string };
    expect(response.status).toBe('succeeded');
    const { createHash } = await import('node:crypto');
    expect(response.stdout).toContain(`len ${secret.length}`);
    expect(response.stdout).toContain(`sha ${createHash('sha256').update(secret).digest('hex')}`);
    expect(res.body).not.toContain(secret);

    const records = await t.server.auditStore.get(response.executionId);
    expect(records.map((r) => r.event)).toEqual(['started', 'completed']);
    expect(records[1]?.secretVariables).toEqual(['REPORT_API_TOKEN']);
    expect(JSON.stringify(records)).not.toContain(secret);
    expect(readFileSync(t.server.paths.auditLog, 'utf8')).not.toContain(secret);
    expect(readFileSync(t.server.paths.stsLog, 'utf8')).not.toContain(secret);
  });

  it('is out of reach of the stranger, who cannot use the profile at all', async () => {
    const res = await aws4Signed({
      identity: t.identity('stranger'),
      method: 'POST',
      url: executions,
      body: JSON.stringify({ profile: 'reports', language: 'python', code: 'import os\nprint(os.environ)' }),
    });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error.code).toBe('NO_GRANT');
    expect(res.body).not.toContain(secretValue());
  });
});

describe('custody audit', () => {
  it('tails the latest records from the audit table, oldest first', async () => {
    const run = await custody(
      ['run', '--profile', 'sandbox', '-l', 'js', '-c', '"tail"', '--json'],
      t.cliEnv('agent'),
    );
    const { executionId } = JSON.parse(run.stdout) as { executionId: string };
    const out = await custody(['audit', 'tail', '-n', '2', '--json'], t.cliEnv('auditor'));
    expect(out.code, out.stderr).toBe(0);
    const lines = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditRecord);
    expect(lines.map((r) => [r.executionId, r.event])).toEqual([
      [executionId, 'started'],
      [executionId, 'completed'],
    ]);
  });

  it('verifies the local audit trail and exits 0 when it is intact', async () => {
    const out = await custody(['audit', 'verify'], t.cliEnv('auditor'));
    expect(out.code, `${out.stdout}${out.stderr}`).toBe(0);
  });
});

describe('reading execution records', () => {
  it('shows a record to its caller and to the auditor, and hides it from the stranger', async () => {
    const run = await custody(
      ['run', '--profile', 'sandbox', '-l', 'js', '-c', '1 + 1', '--json'],
      t.cliEnv('agent'),
    );
    const { executionId } = JSON.parse(run.stdout) as { executionId: string };
    const url = `${t.server.url}/v1/executions/${executionId}`;
    for (const reader of ['agent', 'auditor']) {
      const res = await aws4Signed({ identity: t.identity(reader), method: 'GET', url });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body).records.map((r: AuditRecord) => r.event)).toEqual(['started', 'completed']);
    }
    const stranger = await aws4Signed({ identity: t.identity('stranger'), method: 'GET', url });
    expect(stranger.status).toBe(404);
  });
});
