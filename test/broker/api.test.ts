import { describe, expect, it } from 'vitest';
import type { ExecutionResponse } from '../../lambda/broker/api.ts';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import { DependencyError, ThrottledError } from '../../lambda/core/errors.ts';
import { Metric } from '../../lambda/core/metrics.ts';
import { deferred, idle, SESSION_KEYS, sandboxResult } from './fakes.ts';
import {
  ACCOUNT,
  brokerFixture,
  callers,
  deployment,
  post,
  REPORT_SECRET_ARN,
  REPORT_TOKEN,
} from './fixture.ts';

const run = { profile: 'sandbox', language: 'python', code: 'print(1 + 1)', purpose: 'add two numbers' };

function body<T = Record<string, unknown>>(res: { body: string }): T {
  return JSON.parse(res.body) as T;
}
function errorOf(res: { body: string }) {
  return body<{ error: { code: string; message: string; executionId?: string; auditPending?: boolean } }>(res)
    .error;
}
const events = (records: AuditRecord[]) => records.map((r) => r.event);

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

  describe('failing closed', () => {
    it('runs nothing and answers 503 when the started record cannot be written', async () => {
      const f = brokerFixture();
      f.store.failPutsOf('started');
      const res = await f.api.handle(post(callers.agent, run));
      expect(res.statusCode).toBe(503);
      expect(errorOf(res).code).toBe('DEPENDENCY_UNAVAILABLE');
      // AssumeRole overlaps the started write (it runs nothing); its session is dropped unused.
      expect(f.secrets.calls).toHaveLength(0);
      expect(f.executor.calls).toHaveLength(0);
      expect(f.metrics.total(Metric.AuditWriteFailures)).toBe(1);
    });

    it('never runs the code when the started write fails, even though the role was assumed', async () => {
      const f = brokerFixture();
      f.store.failPutsOf('started');
      const res = await f.api.handle(post(callers.agent, { ...run, profile: 'reports' }));
      expect(f.credentials.calls).toHaveLength(1);
      expect(res.statusCode).toBe(503);
      expect(errorOf(res)).toMatchObject({
        code: 'DEPENDENCY_UNAVAILABLE',
        message: 'The audit store is unavailable; nothing was run.',
      });
      expect(f.secrets.calls).toHaveLength(0);
      expect(f.executor.calls).toHaveLength(0);
      // No started record; the refusal is in the log (the store has just failed), pending.
      expect(f.store.records).toEqual([]);
      expect(events(f.log.records)).toEqual(['denied']);
      expect(f.log.records[0]?.decision).toMatchObject({ allowed: false, reason: 'DEPENDENCY_UNAVAILABLE' });
      expect(errorOf(res).auditPending).toBe(true);
      // One put: the store adapter retries itself (DynamoDbAuditStore); the broker adds no round.
      expect(f.store.putAttempts).toBe(1);
      expect(res.body).not.toContain(SESSION_KEYS.secretAccessKey);
    });

    it('waits for a slow started write before reading secrets or running, though the role came first', async () => {
      const f = brokerFixture();
      const put = f.store.put.bind(f.store);
      const order: string[] = [];
      // The started write lands only once the role has been assumed and the broker has gone as far
      // as it can without the write.
      const roleAssumed = deferred();
      f.store.put = async (record) => {
        if (record.event === 'started') {
          await roleAssumed.promise;
          await idle();
        }
        await put(record);
        order.push(`stored ${record.event}`);
      };
      const assume = f.credentials.assumeRole.bind(f.credentials);
      f.credentials.assumeRole = async (input) => {
        const session = await assume(input);
        order.push('assumed');
        roleAssumed.resolve();
        return session;
      };
      const read = f.secrets.read.bind(f.secrets);
      f.secrets.read = async (session, secrets) => {
        order.push('secrets');
        return read(session, secrets);
      };
      const runIt = f.executor.run.bind(f.executor);
      f.executor.run = async (session, profile, request) => {
        order.push('executed');
        return runIt(session, profile, request);
      };
      const res = await f.api.handle(post(callers.agent, { ...run, profile: 'reports' }));
      expect(res.statusCode).toBe(200);
      expect(order).toEqual(['assumed', 'stored started', 'secrets', 'executed', 'stored completed']);
    });

    it.each([
      ['a run', undefined],
      ['an executor failure', new DependencyError('executor', 'The executor failed.')],
    ])(
      'has the started log line written, before the completed one, when it answers %s',
      async (_l, failure) => {
        const f = brokerFixture();
        f.executor.failWith = failure;
        // A slow log: the started line lands only after the executor has answered and the broker
        // has gone as far as it can without the line.
        const executorAnswered = deferred();
        const runIt = f.executor.run.bind(f.executor);
        f.executor.run = async (session, profile, request, context) => {
          try {
            return await runIt(session, profile, request, context);
          } finally {
            executorAnswered.resolve();
          }
        };
        const write = f.log.write.bind(f.log);
        f.log.write = async (record) => {
          if (record.event === 'started') {
            await executorAnswered.promise;
            await idle();
          }
          await write(record);
        };
        const res = await f.api.handle(post(callers.agent, run));
        expect(res.statusCode).toBe(failure ? 503 : 200);
        expect(f.executor.calls).toHaveLength(1);
        expect(events(f.log.records)).toEqual(['started', 'completed']);
      },
    );

    it('keeps the started record, then a completed record of status error, when STS fails after it', async () => {
      const f = brokerFixture();
      const put = f.store.put.bind(f.store);
      // The started write is the slower one: STS has already failed when it lands.
      const stsAnswered = deferred();
      f.store.put = async (record) => {
        if (record.event === 'started') {
          await stsAnswered.promise;
          await idle();
        }
        await put(record);
      };
      f.credentials.failWith = new DependencyError('credentials', 'STS said no (AccessDenied).');
      const assume = f.credentials.assumeRole.bind(f.credentials);
      f.credentials.assumeRole = async (input) => {
        try {
          return await assume(input);
        } finally {
          stsAnswered.resolve();
        }
      };
      const res = await f.api.handle(post(callers.agent, run));
      expect(res.statusCode).toBe(503);
      expect(errorOf(res).code).toBe('DEPENDENCY_UNAVAILABLE');
      expect(events(f.store.records)).toEqual(['started', 'completed']);
      expect(events(f.log.records)).toEqual(['started', 'completed']);
      const completed = f.store.records[1]!;
      expect(completed.outcome).toMatchObject({
        status: 'error',
        errorName: 'DEPENDENCY_UNAVAILABLE',
        errorMessage: 'STS said no (AccessDenied).',
      });
      expect(completed.role).toBeUndefined();
      expect(f.executor.calls).toHaveLength(0);
      expect(f.metrics.total(Metric.DependencyFailures, { Dependency: 'credentials' })).toBe(1);
    });

    it.each([
      ['STS fails', 'credentials', 503, 'DEPENDENCY_UNAVAILABLE'],
      ['STS keeps throttling', 'credentials-throttled', 429, 'THROTTLED'],
      ['Secrets Manager fails', 'secrets', 503, 'DEPENDENCY_UNAVAILABLE'],
      ['the executor fails', 'executor', 503, 'DEPENDENCY_UNAVAILABLE'],
      ['the executor throws something untyped', 'executor-untyped', 503, 'DEPENDENCY_UNAVAILABLE'],
    ])(
      'answers %s with a clear error and a completed record of status error',
      async (_l, which, status, code) => {
        const f = brokerFixture();
        if (which === 'credentials')
          f.credentials.failWith = new DependencyError('credentials', 'STS said no (AccessDenied).');
        if (which === 'credentials-throttled') f.credentials.failWith = new ThrottledError('slow down');
        if (which === 'secrets')
          f.secrets.failWith = new DependencyError('secrets', 'Secrets Manager said no.');
        if (which === 'executor')
          f.executor.failWith = new DependencyError('executor', 'The executor failed (Runtime.ExitError).');
        if (which === 'executor-untyped')
          f.executor.failWith = new TypeError('internal detail at /var/task/x.js:1');
        const res = await f.api.handle(post(callers.agent, { ...run, profile: 'reports' }));
        expect(res.statusCode).toBe(status);
        expect(errorOf(res).code).toBe(code);
        expect(res.body).not.toMatch(/\/var\/task|at .*:\d+|TypeError/);
        expect(events(f.store.records)).toEqual(['started', 'completed']);
        const completed = f.store.records[1]!;
        expect(completed.outcome).toMatchObject({ status: 'error', errorName: code });
        if (which.startsWith('credentials')) {
          expect(f.secrets.calls).toHaveLength(0);
          expect(completed.role).toBeUndefined();
        } else {
          expect(completed.role?.sessionName).toBe('agent@01HZX3K7R8M9N0P1Q2R3S4T000');
        }
        if (which === 'secrets') expect(f.executor.calls).toHaveLength(0);
      },
    );

    it('counts a dependency failure by dependency', async () => {
      const f = brokerFixture();
      f.secrets.failWith = new Error('boom');
      await f.api.handle(post(callers.agent, { ...run, profile: 'reports' }));
      expect(f.metrics.total(Metric.DependencyFailures, { Dependency: 'secrets' })).toBe(1);
    });

    it('writes the completed record to the log and says pending when the store keeps failing', async () => {
      const f = brokerFixture();
      f.store.failPutsOf('completed');
      const res = await f.api.handle(post(callers.agent, run));
      expect(res.statusCode).toBe(200);
      expect(body<ExecutionResponse>(res).auditPending).toBe(true);
      expect(events(f.store.records)).toEqual(['started']);
      expect(events(f.log.records)).toEqual(['started', 'completed']);
      expect(f.metrics.total(Metric.AuditWriteFailures)).toBe(1);
      expect(f.fallbackLines).toEqual([]);
    });

    it('falls back to the error stream when both the store and the log fail', async () => {
      const g = brokerFixture();
      g.store.failPutsOf('completed');
      g.log.fail = true;
      const res = await g.api.handle(post(callers.agent, run));
      expect(body<ExecutionResponse>(res).auditPending).toBe(true);
      // The started line missed the log too, but the store has it: only the completed record falls back.
      expect(g.fallbackLines).toHaveLength(1);
      const last = JSON.parse(g.fallbackLines.at(-1)!) as { record: AuditRecord };
      expect(last.record.event).toBe('completed');
    });

    it('treats a failed put that finds its own earlier write as stored', async () => {
      const f = brokerFixture();
      const put = f.store.put.bind(f.store);
      let first = true;
      f.store.put = async (record) => {
        await put(record);
        if (record.event === 'completed' && first) {
          first = false;
          throw new Error('timeout after write');
        }
      };
      const res = await f.api.handle(post(callers.agent, run));
      expect(body<ExecutionResponse>(res).auditPending).toBeUndefined();
    });

    it('refuses with 503 a profile the stack has not deployed', async () => {
      const f = brokerFixture({ deployment: { profiles: {} } });
      const res = await f.api.handle(post(callers.agent, run));
      expect(res.statusCode).toBe(503);
      expect(f.credentials.calls).toHaveLength(0);
      expect(events(f.store.records)).toEqual(['denied']);
    });

    it('answers 500 without internals when something unforeseen breaks', async () => {
      const f = brokerFixture();
      f.credentials.assumeRole = async () => undefined as never;
      const res = await f.api.handle(post(callers.agent, run));
      expect(res.statusCode).toBe(500);
      expect(errorOf(res)).toEqual({ code: 'INTERNAL_ERROR', message: 'Internal error.' });
    });
  });
});

describe('GET /v1/executions/{id}', () => {
  async function ranByAgent() {
    const f = brokerFixture();
    await f.api.handle(post(callers.agent, run));
    return f;
  }
  const get = (caller: (typeof callers)[keyof typeof callers], id = '01HZX3K7R8M9N0P1Q2R3S4T000') => ({
    method: 'GET',
    path: `/v1/executions/${id}`,
    body: null,
    caller,
  });

  it.each([
    ['the caller that ran it', callers.agent],
    ['another session of the same role', callers.agentOtherSession],
    ['an auditor', callers.auditor],
  ])('shows the records to %s', async (_l, caller) => {
    const f = await ranByAgent();
    const res = await f.api.handle(get(caller));
    expect(res.statusCode).toBe(200);
    expect(body<{ records: AuditRecord[] }>(res).records.map((r) => r.event)).toEqual([
      'started',
      'completed',
    ]);
  });

  it.each([
    ['another principal', callers.other],
    ['an unknown caller', callers.foreign],
  ])('answers 404, not 403, to %s', async (_l, caller) => {
    const f = await ranByAgent();
    const res = await f.api.handle(get(caller));
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).code).toBe('NOT_FOUND');
  });

  it('answers 404 for an execution that does not exist', async () => {
    const f = await ranByAgent();
    expect((await f.api.handle(get(callers.auditor, '01HZX3K7R8M9N0P1Q2R3S4T999'))).statusCode).toBe(404);
  });

  it('answers 503 when the audit store cannot be read', async () => {
    const f = await ranByAgent();
    f.store.failGets = true;
    expect((await f.api.handle(get(callers.agent))).statusCode).toBe(503);
  });
});

describe('GET /v1/profiles', () => {
  const list = (caller: (typeof callers)[keyof typeof callers]) => ({
    method: 'GET',
    path: '/v1/profiles',
    body: null,
    caller,
  });

  it('lists the profiles the caller may use now, with secret variable names only', async () => {
    const f = brokerFixture();
    const res = await f.api.handle(list(callers.agent));
    const { profiles } = body<{ profiles: { name: string; secretVariables: string[] }[] }>(res);
    expect(profiles.map((p) => p.name)).toEqual(['sandbox', 'reports']);
    expect(profiles[1]).toMatchObject({
      name: 'reports',
      languages: ['python', 'javascript'],
      limits: { timeoutMs: 30_000, memoryMiB: 1024, maxCodeBytes: 65_536, maxOutputBytes: 1_048_576 },
      secretVariables: ['REPORT_API_TOKEN'],
    });
    expect(res.body).not.toContain(REPORT_SECRET_ARN);
    expect(res.body).not.toContain('custody/reports/api-token');
  });

  it('lists nothing for a principal without grants', async () => {
    const res = await brokerFixture().api.handle(list(callers.stranger));
    expect(body(res)).toEqual({ profiles: [] });
  });

  it('refuses an unknown caller', async () => {
    const res = await brokerFixture().api.handle(list(callers.foreign));
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('UNKNOWN_PRINCIPAL');
  });
});

describe('Routing', () => {
  it('answers 404 JSON for an unknown path', async () => {
    const res = await brokerFixture().api.handle({
      method: 'GET',
      path: '/admin',
      body: null,
      caller: callers.agent,
    });
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).code).toBe('NOT_FOUND');
  });

  it('answers 405 with Allow for a wrong method', async () => {
    const res = await brokerFixture().api.handle({
      method: 'DELETE',
      path: '/v1/executions',
      body: null,
      caller: callers.agent,
    });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('POST');
  });
});

describe('Edge denials', () => {
  it('records a request refused at the edge as one denied event', async () => {
    const f = brokerFixture();
    await f.api.recordEdgeDenial({
      caller: { arn: '', sourceIp: '203.0.113.9' },
      reason: 'SIGNATURE_MISMATCH',
      message: 'The request signature does not match.',
      method: 'POST',
      path: '/v1/executions',
    });
    expect(f.store.records).toHaveLength(1);
    expect(f.store.records[0]).toMatchObject({
      event: 'denied',
      caller: { arn: 'anonymous', sourceIp: '203.0.113.9' },
      decision: { allowed: false, reason: 'SIGNATURE_MISMATCH' },
    });
    expect(f.log.records).toHaveLength(1);
    expect(f.metrics.total(Metric.Denials, { Reason: 'SIGNATURE_MISMATCH' })).toBe(1);
  });
});
