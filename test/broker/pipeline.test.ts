import { describe, expect, it } from 'vitest';
import type { ExecutionResponse } from '../../lambda/broker/api.ts';
import { Metric } from '../../lambda/core/metrics.ts';
import { sandboxResult } from './fakes.ts';
import {
  ACCOUNT,
  body,
  brokerFixture,
  callers,
  deployment,
  errorOf,
  events,
  post,
  REPORT_SECRET_ARN,
  REPORT_TOKEN,
  run,
} from './fixture.ts';

describe('POST /v1/executions', () => {
  it('runs allowed code under the profile role and answers with the sealed output', async () => {
    const f = brokerFixture();
    f.executor.respond = () => sandboxResult({ stdout: '2\n', result: '2' } as never);
    const res = await f.api.handle(post(callers.agent, run));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const out = body<ExecutionResponse>(res);
    expect(out).toMatchObject({
      executionId: '01HZX3K7R8M9N0P1Q2R3S4T000',
      status: 'succeeded',
      stdout: '2\n',
      stderr: '',
      result: '2',
      truncated: false,
      durationMs: 12,
      role: {
        arn: deployment.profiles.sandbox!.roleArn,
        sessionName: 'agent@01HZX3K7R8M9N0P1Q2R3S4T000',
      },
    });
    expect(out.codeSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(out.outputSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(out.auditPending).toBeUndefined();
  });

  it('assumes the profile role once, for this execution, as the caller', async () => {
    const f = brokerFixture();
    await f.api.handle(post(callers.agent, run));
    expect(f.credentials.calls).toHaveLength(1);
    const input = f.credentials.calls[0]!;
    expect(input).toMatchObject({
      roleArn: deployment.profiles.sandbox!.roleArn,
      sessionName: 'agent@01HZX3K7R8M9N0P1Q2R3S4T000',
      sourceIdentity: 'agent',
      durationSeconds: 900,
      tags: {
        'custody:caller': callers.agent.arn,
        'custody:execution-id': '01HZX3K7R8M9N0P1Q2R3S4T000',
        'custody:profile': 'sandbox',
      },
    });
    expect(JSON.parse(input.sessionPolicy).Statement[0].Resource).toBe(
      deployment.profiles.sandbox!.executorArn,
    );
    expect(f.executor.calls[0]!.session.sessionName).toBe(input.sessionName);
    expect(f.executor.calls[0]!.request).toMatchObject({
      executionId: '01HZX3K7R8M9N0P1Q2R3S4T000',
      language: 'python',
      code: 'print(1 + 1)',
      limits: { timeoutMs: 10_000, memoryMiB: 512, maxOutputBytes: 1_048_576 },
    });
    expect(f.executor.calls[0]!.request.env).toBeUndefined();
  });

  it('reads the profile secrets with the assumed session and hands them to the sandbox', async () => {
    const f = brokerFixture();
    const res = await f.api.handle(post(callers.agent, { ...run, profile: 'reports' }));
    expect(res.statusCode).toBe(200);
    expect(f.secrets.calls[0]!.secrets).toEqual([
      { variable: 'REPORT_API_TOKEN', secretId: REPORT_SECRET_ARN },
    ]);
    expect(f.secrets.calls[0]!.session.sessionName).toBe('agent@01HZX3K7R8M9N0P1Q2R3S4T000');
    expect(f.executor.calls[0]!.request.env).toEqual({ REPORT_API_TOKEN: REPORT_TOKEN });
    const policy = JSON.parse(f.credentials.calls[0]!.sessionPolicy);
    expect(policy.Statement[1].Resource).toEqual([REPORT_SECRET_ARN]);
  });

  it('redacts an injected secret, in any common encoding, from everything that leaves', async () => {
    const f = brokerFixture();
    f.executor.respond = (req) => {
      const token = req.env?.REPORT_API_TOKEN ?? '';
      return sandboxResult({
        stdout: `token=${token}\nb64=${Buffer.from(token).toString('base64')}\n`,
        stderr: `hex ${Buffer.from(token).toString('hex')}`,
        files: { 'out.txt': token },
      });
    };
    const res = await f.api.handle(post(callers.agent, { ...run, profile: 'reports' }));
    expect(res.body).not.toContain(REPORT_TOKEN);
    expect(res.body).not.toContain(Buffer.from(REPORT_TOKEN).toString('base64'));
    expect(body<ExecutionResponse>(res).stdout).toContain('token=[REDACTED:REPORT_API_TOKEN]');
    const completed = f.store.records.find((r) => r.event === 'completed');
    expect(completed?.outcome?.redactions).toBe(4);
    expect(JSON.stringify(f.store.records) + f.log.lines.join('')).not.toContain(REPORT_TOKEN);
    expect(f.metrics.total(Metric.Redactions)).toBe(4);
    expect(f.metrics.total(Metric.SecretsInjected)).toBe(1);
  });

  it('redacts the session credentials should the executor leak them', async () => {
    const f = brokerFixture();
    f.executor.respond = () => sandboxResult({ stdout: 'key session-secret-access-key-for-tests-only' });
    const res = await f.api.handle(post(callers.agent, run));
    expect(body<ExecutionResponse>(res).stdout).toBe('key [REDACTED:session-credentials]');
  });

  it('writes a started then a completed record holding the whole story', async () => {
    const f = brokerFixture();
    await f.api.handle(post(callers.agent, run));
    expect(events(f.store.records)).toEqual(['started', 'completed']);
    expect(events(f.log.records)).toEqual(['started', 'completed']);
    const completed = f.store.records[1]!;
    expect(completed).toMatchObject({
      schemaVersion: 1,
      executionId: '01HZX3K7R8M9N0P1Q2R3S4T000',
      timestamp: '2030-01-01T12:00:00.000Z',
      origin: 'aws',
      caller: {
        arn: callers.agent.arn,
        principalArn: `arn:aws:iam::${ACCOUNT}:role/custody-agent`,
        principalId: 'agent',
        accountId: ACCOUNT,
        accessKeyId: callers.agent.accessKeyId,
        sourceIp: callers.agent.sourceIp,
        userAgent: callers.agent.userAgent,
      },
      request: { profile: 'sandbox', language: 'python', code: 'print(1 + 1)', purpose: 'add two numbers' },
      decision: { allowed: true, reason: 'ALLOWED' },
      role: {
        arn: deployment.profiles.sandbox!.roleArn,
        sessionName: 'agent@01HZX3K7R8M9N0P1Q2R3S4T000',
        sourceIdentity: 'agent',
      },
      outcome: { status: 'succeeded', redactions: 0, truncated: false },
    });
    expect(completed.outcome?.outputSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(completed.timingsMs ?? {})).toEqual(
      expect.arrayContaining(['validate', 'decide', 'auditStart', 'assume', 'secrets', 'execute', 'seal']),
    );
    expect(f.log.records[1]).toEqual(completed);
  });

  it('keeps only the digest of the code when the profile says auditCode: digest', async () => {
    const f = brokerFixture();
    const res = await f.api.handle(post(callers.agent, { ...run, profile: 'reports' }));
    expect(f.store.records.map((r) => r.event)).toEqual(['started', 'completed']);
    for (const record of [...f.store.records, ...f.log.records]) {
      expect(record.request.code).toBeUndefined();
      expect(record.request.codeSha256).toBe(body<ExecutionResponse>(res).codeSha256);
    }
    expect(f.store.records.find((r) => r.event === 'completed')?.secretVariables).toEqual([
      'REPORT_API_TOKEN',
    ]);
  });

  it('answers 200 with status failed when the user code raises', async () => {
    const f = brokerFixture();
    f.executor.respond = () =>
      sandboxResult({
        status: 'failed',
        error: { name: 'ZeroDivisionError', message: 'division by zero', traceback: 'line 1' },
      } as never);
    const res = await f.api.handle(post(callers.agent, run));
    expect(res.statusCode).toBe(200);
    expect(body<ExecutionResponse>(res)).toMatchObject({
      status: 'failed',
      error: { name: 'ZeroDivisionError', message: 'division by zero' },
    });
    expect(f.metrics.total(Metric.UserCodeFailures)).toBe(1);
  });

  it('counts a sandbox limit hit by status', async () => {
    const f = brokerFixture();
    f.executor.respond = () => sandboxResult({ status: 'timed_out' } as never);
    await f.api.handle(post(callers.agent, run));
    expect(f.metrics.total(Metric.SandboxLimitHits, { Status: 'timed_out' })).toBe(1);
    expect(f.metrics.total(Metric.Executions)).toBe(1);
    expect(
      f.metrics.recorded.filter((m) => m.name === Metric.PhaseLatency).map((m) => m.dimensions.Phase),
    ).toEqual(expect.arrayContaining(['assume', 'execute', 'auditComplete', 'total']));
    expect(f.metrics.flushes).toBe(1);
  });

  describe('refusals', () => {
    it.each([
      ['an unknown principal', callers.foreign, run, 403, 'UNKNOWN_PRINCIPAL'],
      ['a known principal without grants', callers.stranger, run, 403, 'NO_GRANT'],
      [
        'a principal without a grant for that profile',
        callers.other,
        { ...run, profile: 'reports' },
        403,
        'NO_GRANT',
      ],
      ['a grant not yet valid', callers.agent, { ...run, profile: 'later' }, 403, 'GRANT_NOT_YET_VALID'],
      ['an undeclared profile', callers.agent, { ...run, profile: 'ghost' }, 403, 'UNKNOWN_PROFILE'],
      [
        'a disallowed language',
        callers.agent,
        { ...run, profile: 'reports', language: 'typescript' },
        403,
        'LANGUAGE_NOT_ALLOWED',
      ],
      [
        'a hard-coded key',
        callers.agent,
        { ...run, code: `k = "${'AKIA'}Q3EGRJ7XZ2LMNPTW"` },
        403,
        'HARDCODED_CREDENTIAL',
      ],
      [
        'code over maxCodeBytes',
        callers.agent,
        { ...run, code: 'x'.repeat(70_000) },
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      ['a timeout over the profile', callers.agent, { ...run, timeoutMs: 60_000 }, 400, 'INVALID_REQUEST'],
    ])('refuses %s, records one denied event and runs nothing', async (_l, caller, req, status, code) => {
      const f = brokerFixture();
      const res = await f.api.handle(post(caller, req));
      expect(res.statusCode).toBe(status);
      expect(errorOf(res)).toMatchObject({ code, executionId: '01HZX3K7R8M9N0P1Q2R3S4T000' });
      expect(f.credentials.calls).toHaveLength(0);
      expect(f.executor.calls).toHaveLength(0);
      expect(events(f.store.records)).toEqual(['denied']);
      expect(f.store.records[0]!.decision).toMatchObject({ allowed: false, reason: code });
      expect(f.log.records).toEqual(f.store.records);
      expect(f.metrics.total(Metric.Denials, { Reason: code })).toBe(1);
    });

    it('never stores code that was refused for a hard-coded credential', async () => {
      const f = brokerFixture();
      const key = `${'AKIA'}Q3EGRJ7XZ2LMNPTW`;
      await f.api.handle(post(callers.agent, { ...run, code: `k = "${key}"`, purpose: `use ${key}` }));
      expect(JSON.stringify(f.store.records)).not.toContain(key);
      expect(f.store.records[0]!.request.codeSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(f.metrics.total(Metric.HardcodedCredentialAttempts)).toBe(1);
    });

    it.each([
      ['a missing body', null, 'body'],
      ['a body that is not JSON', '{nope', 'body'],
      ['an unknown language', JSON.stringify({ ...run, language: 'cobol' }), 'language'],
      ['a missing code field', JSON.stringify({ profile: 'sandbox', language: 'python' }), 'code'],
      ['an unknown field', JSON.stringify({ ...run, sudo: true }), '"sudo"'],
      ['a file escaping its folder', JSON.stringify({ ...run, files: { '../etc/passwd': 'x' } }), 'files'],
      ['a non-integer timeout', JSON.stringify({ ...run, timeoutMs: 1.5 }), 'timeoutMs'],
    ])('answers 400 naming the field for %s', async (_l, raw, field) => {
      const f = brokerFixture();
      const res = await f.api.handle({
        method: 'POST',
        path: '/v1/executions',
        body: raw,
        caller: callers.agent,
      });
      expect(res.statusCode).toBe(400);
      expect(errorOf(res).code).toBe('INVALID_REQUEST');
      expect(errorOf(res).message).toContain(field);
      expect(f.executor.calls).toHaveLength(0);
    });

    it('refuses an unknown principal before reading its body', async () => {
      const f = brokerFixture();
      const res = await f.api.handle(post(callers.foreign, '{not json'));
      expect(errorOf(res).code).toBe('UNKNOWN_PRINCIPAL');
    });
  });
});
