/**
 * `custody session start|run|show|list|end` against the REAL local server, as an operator types
 * them: the id `start` prints is what the other commands take; a variable set in one `run` is there
 * in the next; another principal gets "rejected" (404); after `end`, `run` is refused with
 * SESSION_ENDED. Flag checks and output details against a stub: session-usage.test.ts.
 *
 * Waits for the broker's session routes (the s-broker branch): on a branch without them `start`
 * is answered 404.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../../../client/cli/exit-codes.ts';
import { startTestServer, type TestServer } from '../../../e2e/support.ts';
import { runCli } from '../../../support/cli.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.stop();
});

const as = (principal: string) => (args: string[]) => runCli(args, { env: t.cliEnv(principal), cwd: t.home });
const agent = (args: string[]) => as('agent')(args);

describe('custody session against the local server', () => {
  it('starts, runs twice with state, shows, lists and ends a session', async () => {
    const started = await agent([
      'session',
      'start',
      '--profile',
      'sandbox',
      '--ttl',
      '10m',
      '--purpose',
      'cli e2e',
    ]);
    expect(started.code, started.stderr).toBe(EXIT.succeeded);
    const id = started.stdout.trim();
    expect(id).toMatch(/^ses_[0-9A-Z]{26}$/);
    expect(started.stderr).toMatch(/^custody: session started · profile sandbox · expires \S+\n$/);

    const first = await agent(['session', 'run', id, '-l', 'py', '-c', 'x = 41']);
    expect(first.code, first.stderr).toBe(EXIT.succeeded);
    expect(first.stderr).toContain(`session ${id} call 1`);

    const second = await agent(['session', 'run', id, '-l', 'py', '-c', 'print(x + 1)']);
    expect(second.code, second.stderr).toBe(EXIT.succeeded);
    expect(second.stdout).toBe('42\n');
    expect(second.stderr).toContain(`session ${id} call 2`);

    const shown = await agent(['session', 'show', id]);
    expect(shown.stdout).toContain('status      active\n');
    expect(shown.stdout).toContain('executions  2\n');

    const listed = await agent(['session', 'list', '--json']);
    expect(
      (JSON.parse(listed.stdout) as { sessions: { sessionId: string }[] }).sessions.map((s) => s.sessionId),
    ).toContain(id);

    const ended = await agent(['session', 'end', id]);
    expect(ended).toEqual({ code: EXIT.succeeded, stdout: `session ${id} ended\n`, stderr: '' });

    const after = await agent(['session', 'run', id, '-l', 'py', '-c', 'print(x)']);
    expect(after.code).toBe(EXIT.rejected);
    expect(after.stderr).toMatch(/^custody: rejected, SESSION_ENDED: /);
  });

  it("rejects another principal's show, run and end of a session as unknown (exit 7)", async () => {
    const started = await agent(['session', 'start', '--profile', 'sandbox']);
    const id = started.stdout.trim();
    for (const args of [
      ['session', 'show', id],
      ['session', 'run', id, '-l', 'py', '-c', 'print(1)'],
      ['session', 'end', id],
    ]) {
      const out = await as('stranger')(args);
      expect(out.code, out.stderr).toBe(EXIT.rejected);
      expect(out.stdout).toBe('');
    }
    expect((await agent(['session', 'show', id])).stdout).toContain('status      active\n');
    await agent(['session', 'end', id]);
  });
});
