import { afterAll, describe, expect, it } from 'vitest';
import { LocalExecutorPort, localSandboxSlots } from '../../../lambda/adapters/local/executor.ts';
import { QuickJsWorker } from '../../../lambda/adapters/local/quickjs-worker.ts';
import type { SandboxRequest, SandboxResult } from '../../../lambda/core/types.ts';
import { createSandbox } from '../../../lambda/sandbox/index.ts';
import { localSessions } from './local-session.ts';

const { now, credentials, assume } = localSessions();

describe('Local executor port', () => {
  const ran: SandboxRequest[] = [];
  const sandbox = {
    run: async (request: SandboxRequest): Promise<SandboxResult> => {
      ran.push(request);
      return {
        status: 'succeeded',
        stdout: 'ok',
        stderr: '',
        stdoutTruncated: false,
        stderrTruncated: false,
        files: {},
        filesTruncated: false,
        timings: { startMs: 0, runMs: 0 },
      };
    },
  };
  const executor = new LocalExecutorPort({ sandbox, credentials });
  const request: SandboxRequest = {
    executionId: 'e1',
    language: 'javascript',
    code: '1',
    limits: { timeoutMs: 1000, memoryMiB: 64, maxOutputBytes: 1000 },
  };

  it("runs code for a session of the profile's own role", async () => {
    const session = await credentials.assumeRole(assume('sandbox'));
    await expect(executor.run(session, 'sandbox', request)).resolves.toMatchObject({ status: 'succeeded' });
    expect(ran).toHaveLength(1);
  });

  it('refuses an expired session, and runs nothing', async () => {
    const session = await credentials.assumeRole(assume('sandbox'));
    now.t += 900_000;
    await expect(executor.run(session, 'sandbox', request)).rejects.toThrow(/expired/);
    expect(ran).toHaveLength(1);
  });

  it("refuses to run another profile's executor, and runs nothing", async () => {
    const session = await credentials.assumeRole(assume('sandbox'));
    await expect(executor.run(session, 'reports', request)).rejects.toThrow(/may not invoke the executor/);
    expect(ran).toHaveLength(1);
  });
});

describe('Local executor port with the real sandboxes, under one busy caller', () => {
  const sessions = localSessions();
  // Wired as the local server wires them: as many runs in each sandbox as the queues admit.
  const slots = localSandboxSlots();
  const sandbox = createSandbox({
    maxConcurrent: slots,
    javascript: (quickJs) => new QuickJsWorker({ sandbox: quickJs, threads: slots }),
  });
  const executor = new LocalExecutorPort({ sandbox, credentials: sessions.credentials });
  afterAll(() => sandbox.close());
  const caller = (sourceIdentity: string) =>
    sessions.credentials.assumeRole({ ...sessions.assume('sandbox'), sourceIdentity });
  const run = (language: 'javascript' | 'python', code: string, timeoutMs: number) => ({
    executionId: `fair-${language}-${Math.random()}`,
    language,
    code,
    limits: { timeoutMs, memoryMiB: 256, maxOutputBytes: 4_096 },
  });

  it("carries a session's state from one call to the next through the port, as the local server runs it", async () => {
    const who = await caller('session-caller');
    const first = await executor.run(who, 'sandbox', {
      ...run('javascript', "const kept = [1, 2]; files.write('k.txt', 'kept');", 5_000),
      session: {},
    });
    expect(first.state?.dropped).toEqual([]);
    const second = await executor.run(who, 'sandbox', {
      ...run('javascript', "[...kept, files.read('k.txt')]", 5_000),
      session: { state: first.state?.carried },
    });
    expect(second).toMatchObject({ status: 'succeeded', result: '[1,2,"kept"]' });
  });

  it("runs another caller's trivial JavaScript at once while one caller runs busy loops", async () => {
    const [busy, other] = await Promise.all([caller('busy'), caller('other')]);
    // The workers started and warm, as on a server that has been serving.
    await Promise.all(
      Array.from({ length: slots }, (_, i) =>
        executor.run(i === 0 ? other : busy, 'sandbox', run('javascript', '1', 5_000)),
      ),
    );
    // More loops than the busy caller may run at once: the rest wait in its own queue.
    const loops = Array.from({ length: slots }, () => 0).map(() =>
      executor.run(busy, 'sandbox', run('javascript', 'for (;;) {}', 3_000)),
    );
    const started = performance.now();
    const trivial = await executor.run(other, 'sandbox', run('javascript', '6 * 7', 3_000));
    const waitedMs = performance.now() - started;
    expect(trivial).toMatchObject({ status: 'succeeded', result: '42' });
    expect(waitedMs).toBeLessThan(1_500);
    expect(new Set((await Promise.all(loops)).map((r) => r.status))).toEqual(new Set(['timed_out']));
  }, 30_000);

  it("runs another caller's trivial Python while one caller runs Python loops", async () => {
    const [busy, other] = await Promise.all([caller('busy'), caller('other')]);
    await sandbox.warmUp();
    const loop = 'import time\nt = time.time()\nwhile time.time() - t < 4: pass';
    const loops = Array.from({ length: slots }, () =>
      executor.run(busy, 'sandbox', run('python', loop, 30_000)),
    );
    const started = performance.now();
    const trivial = await executor.run(other, 'sandbox', run('python', '6 * 7', 20_000));
    const waitedMs = performance.now() - started;
    expect(trivial).toMatchObject({ status: 'succeeded', result: '42' });
    // Behind the loops it would wait at least one 4 s loop; beside them, a Python start-up.
    expect(waitedMs).toBeLessThan(3_500);
    expect(new Set((await Promise.all(loops)).map((r) => r.status))).toEqual(new Set(['succeeded']));
  }, 90_000);
});
