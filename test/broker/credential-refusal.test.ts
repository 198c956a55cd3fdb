/**
 * Issue #12, class 8, through the broker core: every field that is stored (profile, purpose, file
 * names, file contents, code, the user agent, an error message quoting a field) is scanned; a request
 * carrying a credential is refused with HARDCODED_CREDENTIAL, and neither the audit store nor the
 * audit log keeps the credential (only a redacted form or a digest).
 */
import { describe, expect, it } from 'vitest';
import type { CallerIdentity } from '../../lambda/broker/api.ts';
import { AWS_KEY_ID, TOKENS } from './credential-fixtures.ts';
import { brokerFixture, callers, post } from './fixture.ts';

const run = { profile: 'sandbox', language: 'python', code: 'print(1)' };
const REST = AWS_KEY_ID.slice(4);
const folded = `'${AWS_KEY_ID.slice(0, 10)}' '${AWS_KEY_ID.slice(10)}'`;

function stored(f: ReturnType<typeof brokerFixture>): string {
  return JSON.stringify(f.store.records) + f.log.lines.join('\n') + f.fallbackLines.join('\n');
}

describe('credentials in stored request fields', () => {
  it.each<[string, CallerIdentity, Record<string, unknown>, readonly string[]]>([
    [
      'a profile holding an AWS key (a granted agent)',
      callers.agent,
      { ...run, profile: AWS_KEY_ID },
      [REST],
    ],
    [
      'a profile holding an AWS key (the stranger)',
      callers.stranger,
      { ...run, profile: AWS_KEY_ID },
      [REST],
    ],
    [
      'a profile holding a key split in two literals',
      callers.stranger,
      { ...run, profile: folded },
      [REST.slice(6)],
    ],
    ['a file name holding an AWS key', callers.agent, { ...run, files: { [AWS_KEY_ID]: 'x' } }, [REST]],
    [
      'a purpose holding a GitLab token',
      callers.agent,
      { ...run, purpose: `use ${TOKENS.gitlab}` },
      [TOKENS.gitlab],
    ],
    [
      'a purpose holding a database URL',
      callers.agent,
      { ...run, purpose: TOKENS.postgres },
      ['Vq7Lm2Zx9Kp4'],
    ],
    [
      'a file holding an npm token',
      callers.agent,
      { ...run, files: { '.npmrc': `_authToken=${TOKENS.npm}` } },
      [TOKENS.npm],
    ],
    [
      'code with an escaped AWS key',
      callers.agent,
      { ...run, code: `k = "\\x41${AWS_KEY_ID.slice(1)}"` },
      [REST],
    ],
    [
      'code with an Anthropic key split in two',
      callers.agent,
      { ...run, code: `k = "${TOKENS.anthropic.slice(0, 40)}" "${TOKENS.anthropic.slice(40)}"` },
      [TOKENS.anthropic.slice(40)],
    ],
  ])('refuses %s and stores no trace of it', async (_label, caller, request, secrets) => {
    const f = brokerFixture();
    const res = await f.api.handle(post(caller, request));
    expect(res.statusCode).toBe(403);
    expect(JSON.parse(res.body).error.code).toBe('HARDCODED_CREDENTIAL');
    expect(f.executor.calls).toHaveLength(0);
    expect(f.store.records.map((r) => r.event)).toEqual(['denied']);
    const trail = stored(f);
    for (const secret of secrets) expect(trail).not.toContain(secret);
  });

  it('stores a redacted form of a file name that fails validation and quotes a key', async () => {
    const f = brokerFixture();
    const res = await f.api.handle(post(callers.agent, { ...run, files: { [`${AWS_KEY_ID}/../x`]: 'x' } }));
    expect(res.statusCode).toBe(400);
    const [record] = f.store.records;
    expect(record?.decision.message).toContain('[REDACTED:aws-access-key-id]');
    expect(stored(f)).not.toContain(REST);
  });

  it('runs a clean request but stores its user agent with the key redacted', async () => {
    const f = brokerFixture();
    const caller = { ...callers.agent, userAgent: `bot/1.0 (${AWS_KEY_ID})` };
    const res = await f.api.handle(post(caller, run));
    expect(res.statusCode).toBe(200);
    expect(f.store.records.map((r) => r.caller.userAgent)).toEqual([
      'bot/1.0 ([REDACTED:aws-access-key-id])',
      'bot/1.0 ([REDACTED:aws-access-key-id])',
    ]);
    expect(stored(f)).not.toContain(REST);
  });

  it('stores an edge denial without the key its path quoted', async () => {
    const f = brokerFixture();
    await f.api.recordEdgeDenial({
      caller: callers.stranger,
      reason: 'INVALID_SIGNATURE',
      message: 'signature does not match',
      method: 'GET',
      path: `/v1/executions/${AWS_KEY_ID}`,
    });
    expect(f.store.records).toHaveLength(1);
    expect(stored(f)).not.toContain(REST);
  });
});
