/**
 * Issue #12, class 7, through the real local API and the real CLI: the stranger (a principal with no
 * grant) sends a profile full of terminal escapes, an agent a purpose that forges a record line; the
 * auditor's `custody audit tail` and `custody show` print both with every control character escaped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../client/cli/exit-codes.ts';
import { runCli } from '../support/cli.ts';
import { sdkSigned, startTestServer, type TestServer } from './support.ts';

const PROFILE = 'x\u001b[2J\u001b]0;owned\u0007\u009b8m';
const FORGED = '2026-12-03T09:00:00.000Z  completed EXEC-FORGED  agent  sandbox/python  succeeded';
const PURPOSE = `report\u001b]52;c;aGVsbG8=\u0007\r\n${FORGED}\u2028\u202e`;
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the point.
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

let t: TestServer;
const ids: string[] = [];
beforeAll(async () => {
  t = await startTestServer();
  const url = `${t.server.url}/v1/executions`;
  const denied = await sdkSigned({
    identity: t.identity('stranger'),
    url,
    body: JSON.stringify({ profile: PROFILE, language: 'python', code: '1' }),
  });
  expect(denied.status).toBe(403);
  const ran = await sdkSigned({
    identity: t.identity('agent'),
    url,
    body: JSON.stringify({ profile: 'sandbox', language: 'javascript', code: '1', purpose: PURPOSE }),
  });
  expect(ran.status).toBe(200);
  ids.push(JSON.parse(denied.body).error.executionId, JSON.parse(ran.body).executionId);
});
afterAll(async () => t?.stop());

const asAuditor = (args: string[]) =>
  runCli(args, { env: { CUSTODY_HOME: t.home, AWS_PROFILE: 'auditor' }, cwd: t.home });

function expectClean(stdout: string): void {
  expect(stdout).not.toBe('');
  expect(RAW_CONTROL.exec(stdout)?.[0].codePointAt(0)?.toString(16) ?? 'none').toBe('none');
  expect(stdout.split('\n').some((l) => l.startsWith(FORGED.slice(0, 30)))).toBe(false);
}

describe('hostile record text on the operator terminal', () => {
  it('the stranger profile and the purpose are stored as sent', async () => {
    const [denied] = await t.server.auditStore.get(ids[0] as string);
    expect(denied?.request.profile).toBe(PROFILE);
    const [started] = await t.server.auditStore.get(ids[1] as string);
    expect(started?.request.purpose).toBe(PURPOSE);
  });

  it('custody audit tail prints them escaped', async () => {
    const out = await asAuditor(['audit', 'tail']);
    expect(out.code, out.stderr).toBe(EXIT.succeeded);
    expectClean(out.stdout);
    expect(out.stdout).toContain('x\\u001b[2J\\u001b]0;owned\\u0007\\u009b8m');
  });

  it('custody show prints them escaped', async () => {
    for (const id of ids) {
      const out = await asAuditor(['show', id as string]);
      expect(out.code, out.stderr).toBe(EXIT.succeeded);
      expectClean(out.stdout);
    }
  });
});
