import { describe, expect, it } from 'vitest';
import type { ExecutionResponse } from '../../lambda/broker/api.ts';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import { DependencyError, ThrottledError } from '../../lambda/core/errors.ts';
import { Metric } from '../../lambda/core/metrics.ts';
import { deferred, idle, SESSION_KEYS } from './fakes.ts';
import { body, brokerFixture, callers, errorOf, events, post, run } from './fixture.ts';

// The pipeline fails closed: every dependency failure is a clear error and an audited outcome.
describe('POST /v1/executions', () => {
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
