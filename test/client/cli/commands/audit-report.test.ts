/**
 * `custody audit report` against a real local store (dynalite, the audit table, a signing key, a
 * digest in the audit log) holding known records: the counts are asserted in the terminal, JSON
 * and HTML forms, and tampering turns the verification line red and the exit code non-zero.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditReport, buildAuditReport } from '../../../../client/cli/audit-report/build.ts';
import { escapeHtml, renderAuditReportHtml } from '../../../../client/cli/audit-report/html.ts';
import { EXIT } from '../../../../client/cli/exit-codes.ts';
import { recordKey } from '../../../../lambda/adapters/aws/audit-item.ts';
import { DynamoDbAuditStore } from '../../../../lambda/adapters/aws/dynamodb-audit-store.ts';
import type {
  IncompleteExecution,
  VerifyResult,
} from '../../../../lambda/adapters/aws/dynamodb-audit-verify.ts';
import { digestUntilCurrent } from '../../../../lambda/adapters/aws/dynamodb-digests.ts';
import { FileAuditLog } from '../../../../lambda/adapters/local/file-audit-log.ts';
import { FileAuditSigner } from '../../../../lambda/adapters/local/file-audit-signer.ts';
import type { AuditRecord } from '../../../../lambda/core/audit-record.ts';
import { revocationRecord } from '../../../../lambda/core/revocation-record.ts';
import { runCli } from '../../../support/cli.ts';
import { type RunningDynalite, startDynalite } from '../../../support/dynalite.ts';

const ACCOUNT = '111122223333';
const AGENT = { arn: `arn:aws:sts::${ACCOUNT}:assumed-role/custody-agent/s1`, principalId: 'agent' };
const AGENT2 = { arn: `arn:aws:sts::${ACCOUNT}:assumed-role/custody-agent-2/s1`, principalId: 'agent2' };
const STRANGER = { arn: `arn:aws:iam::${ACCOUNT}:user/stranger`, principalId: 'stranger' };
const SHA = (c: string) => c.repeat(64);

let seq = 0;
function at(): string {
  seq += 1;
  return new Date(Date.now() - 15 * 60_000 + seq * 1000).toISOString();
}

function base(id: string, event: AuditRecord['event'], caller: AuditRecord['caller'], profile: string) {
  return {
    schemaVersion: 1 as const,
    executionId: id,
    event,
    timestamp: at(),
    caller,
    request: { profile, language: 'python' as const, codeSha256: SHA('c') },
    origin: 'local' as const,
  };
}

function ran(id: string, caller: AuditRecord['caller'], profile: string, status: string): AuditRecord[] {
  const role = {
    arn: `arn:aws:iam::${ACCOUNT}:role/custody-exec-${profile}`,
    assumedRoleArn: `arn:aws:sts::${ACCOUNT}:assumed-role/custody-exec-${profile}/${caller.principalId}@${id}`,
    sessionName: `${caller.principalId}@${id}`,
    sourceIdentity: caller.principalId as string,
  };
  return [
    { ...base(id, 'started', caller, profile), decision: { allowed: true, reason: 'ALLOWED' } },
    {
      ...base(id, 'completed', caller, profile),
      decision: { allowed: true, reason: 'ALLOWED' },
      role,
      outcome: { status, outputSha256: SHA('d'), redactions: 0, truncated: false } as AuditRecord['outcome'],
      timingsMs: { total: 42 },
    },
  ];
}

function denied(id: string, caller: AuditRecord['caller'], profile: string, reason: string): AuditRecord {
  return { ...base(id, 'denied', caller, profile), decision: { allowed: false, reason, message: reason } };
}

const RECORDS: AuditRecord[] = [
  ...ran('EXEC-A', AGENT, 'sandbox', 'succeeded'),
  ...ran('EXEC-B', AGENT, 'sandbox', 'failed'),
  ...ran('EXEC-C', AGENT2, 'reports', 'timed_out'),
  denied('EXEC-D', STRANGER, 'sandbox', 'NO_GRANT'),
  denied('EXEC-E', AGENT, 'sandbox', 'HARDCODED_CREDENTIAL'),
  denied('EXEC-F', AGENT, 'sandbox', 'PROFILE_REVOKED'),
  { ...base('EXEC-G', 'started', AGENT, 'reports'), decision: { allowed: true, reason: 'ALLOWED' } },
  revocationRecord({
    action: 'revoked',
    actionId: 'REVOKE-1',
    at: new Date(at()),
    operator: { arn: 'local:ops' },
    revocation: { scope: 'profile', target: 'sandbox', reason: '<b>leak</b> & more' },
    origin: 'local',
  }),
];

describe('custody audit report', () => {
  let db: RunningDynalite;
  let home: string;

  beforeAll(async () => {
    db = await startDynalite();
    home = mkdtempSync(join(tmpdir(), 'custody-report-'));
    const auditLog = join(home, 'audit.log');
    // Written ten minutes ago, so the digest (settle delay one minute) covers them.
    const store = new DynamoDbAuditStore({
      client: db.client,
      tableName: db.tableName,
      clock: () => new Date(Date.now() - 10 * 60_000),
    });
    for (const record of RECORDS) await store.put(record);
    const signer = await FileAuditSigner.open(join(home, 'audit-signing-key.pem'));
    await digestUntilCurrent({
      client: db.client,
      tableName: db.tableName,
      signer,
      log: new FileAuditLog(auditLog),
    });
    writeFileSync(
      join(home, 'local.json'),
      JSON.stringify({
        apiEndpoint: 'http://127.0.0.1:1',
        dynamodbEndpoint: db.endpoint,
        auditTableName: db.tableName,
        region: 'us-east-1',
        credentialsFile: join(home, 'credentials'),
        auditLog,
      }),
    );
  });
  afterAll(async () => {
    await db.stop();
    rmSync(home, { recursive: true, force: true });
  });

  const cli = (args: string[]) => runCli(args, { env: { CUSTODY_HOME: home }, cwd: home });

  it('counts executions, denials by reason, callers, profiles, statuses and kill-switch actions', async () => {
    const out = await cli(['audit', 'report', '--json']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(EXIT.succeeded);
    const report = JSON.parse(out.stdout) as AuditReport;
    expect(report.recordsRead).toBe(RECORDS.length);
    expect(report).toMatchObject({ executions: 3, running: 1, denials: 3, truncated: false });
    expect(report.statuses).toEqual([
      { status: 'failed', count: 1 },
      { status: 'succeeded', count: 1 },
      { status: 'timed_out', count: 1 },
    ]);
    expect(report.denialsByReason).toEqual([
      { reason: 'HARDCODED_CREDENTIAL', count: 1 },
      { reason: 'NO_GRANT', count: 1 },
      { reason: 'PROFILE_REVOKED', count: 1 },
    ]);
    expect(report.topCallers).toEqual([
      { key: 'agent', executions: 2, denials: 2 },
      { key: 'agent2', executions: 1, denials: 0 },
      { key: 'stranger', executions: 0, denials: 1 },
    ]);
    expect(report.topProfiles).toEqual([
      { key: 'sandbox', executions: 2, denials: 3 },
      { key: 'reports', executions: 1, denials: 0 },
    ]);
    expect(report.killSwitch).toEqual([
      expect.objectContaining({ event: 'revoked', scope: 'profile', target: 'sandbox', by: 'local:ops' }),
    ]);
    expect(report.recent.map((e) => e.executionId)).toEqual([
      'EXEC-G',
      'EXEC-F',
      'EXEC-E',
      'EXEC-D',
      'EXEC-C',
      'EXEC-B',
      'EXEC-A',
    ]);
    expect(report.recent.find((e) => e.executionId === 'EXEC-C')).toMatchObject({
      caller: 'agent2',
      profile: 'reports',
      outcome: 'timed_out',
      sessionName: 'agent2@EXEC-C',
      totalMs: 42,
    });
    expect(report.verification).toMatchObject({ ok: true, records: RECORDS.length, uncovered: 0 });
  });

  it('prints the same numbers for a terminal, with the verification result', async () => {
    const out = await cli(['audit', 'report', '--recent', '3']);
    expect(out.code).toBe(EXIT.succeeded);
    expect(out.stdout).toContain('executions: 3 completed, 1 running or unfinished; denials: 3');
    const rows = out.stdout.split('\n').map((l) => l.trim().split(/\s+/));
    expect(rows).toContainEqual(['agent', '2', '2']);
    expect(rows).toContainEqual(['stranger', '0', '1']);
    expect(rows).toContainEqual(['HARDCODED_CREDENTIAL', '1']);
    expect(rows).toContainEqual(['timed_out', '1']);
    expect(out.stdout).toContain('Recent executions (newest first, 3)');
    expect(out.stdout).toContain('denied PROFILE_REVOKED');
    expect(out.stdout).not.toContain('EXEC-A');
    expect(out.stdout).toContain('audit verification: INTACT');
  });

  it('writes a self-contained HTML page with the numbers, escaping every text', async () => {
    const file = join(home, 'report.html');
    const out = await cli(['audit', 'report', '--html', 'report.html']);
    expect(out.code).toBe(EXIT.succeeded);
    expect(out.stderr).toContain(`report written to ${file}`);
    const html = readFileSync(file, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<div class="v" id="executions">3</div>');
    expect(html).toContain('<div class="v" id="denials">3</div>');
    expect(html).toContain('<td>agent</td><td class="n">2</td><td class="n">2</td>');
    expect(html).toContain('Audit verification: INTACT');
    expect(html).toContain('&lt;b&gt;leak&lt;/b&gt; &amp; more');
    expect(html).not.toContain('<b>leak</b>');
    expect(html).not.toMatch(/<script|<link|src=|href=/);
  });

  it('names a bad flag value', async () => {
    for (const value of ['0', '-1', 'soon', '2161']) {
      const out = await cli(['audit', 'report', '--since-hours', value]);
      expect(out.code).toBe(EXIT.usage);
      expect(out.stderr).toContain(
        `--since-hours: "${value}" must be a number of hours above 0 and at most 2160 (0.5 is half an hour)`,
      );
    }
  });

  it('takes a window of a fraction of an hour', async () => {
    // The records were written ten minutes ago: inside a quarter of an hour, outside a tenth.
    const read = async (hours: string) => {
      const out = await cli(['audit', 'report', '--since-hours', hours, '--json', '--no-verify']);
      expect(out.code, out.stderr).toBe(EXIT.succeeded);
      return (JSON.parse(out.stdout) as AuditReport).recordsRead;
    };
    expect(await read('0.25')).toBe(RECORDS.length);
    expect(await read('0.1')).toBe(0);
  });

  it('shows a failed verification and exits 11 when a record was altered', async () => {
    await db.client.send(
      new UpdateItemCommand({
        TableName: db.tableName,
        Key: recordKey('EXEC-D', 'denied'),
        UpdateExpression: 'SET #r = :r',
        ExpressionAttributeNames: { '#r': 'record' },
        ExpressionAttributeValues: {
          ':r': {
            S: JSON.stringify({
              ...RECORDS.find((r) => r.executionId === 'EXEC-D'),
              decision: { allowed: true, reason: 'ALLOWED' },
            }),
          },
        },
      }),
    );
    const out = await cli(['audit', 'report']);
    expect(out.code).toBe(EXIT.tampered);
    expect(out.stdout).toContain('audit verification: FAILED (modified)');
    expect(out.stdout).toContain('execution EXEC-D');
  });
});

describe('renderAuditReportHtml', () => {
  const verified = (incomplete: IncompleteExecution[]): VerifyResult => ({
    ok: true,
    records: 4,
    digests: 1,
    uncovered: 0,
    scope: 'all',
    incomplete,
  });
  const report = (verification: VerifyResult) =>
    buildAuditReport([], { now: new Date(), since: new Date(0), verification });

  it('titles a trail with a started execution and no outcome INCOMPLETE, not INTACT', () => {
    const html = renderAuditReportHtml(
      report(
        verified([
          { executionId: 'EXEC-LOST', startedAt: '2026-01-01T00:00:00Z', deadline: '2026-01-01T00:05:00Z' },
        ]),
      ),
    );
    expect(html).toContain('Audit verification: INCOMPLETE');
    expect(html).not.toContain('INTACT');
    expect(html).toContain('EXEC-LOST');
  });

  it('titles a complete, unaltered trail INTACT', () => {
    expect(renderAuditReportHtml(report(verified([])))).toContain('Audit verification: INTACT');
  });
});

describe('escapeHtml', () => {
  it('escapes the five characters that matter in content and attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });
});
