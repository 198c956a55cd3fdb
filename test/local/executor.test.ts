import { describe, expect, it } from 'vitest';
import type { SandboxRequest, SandboxResult } from '../../lambda/core/types.ts';
import { LocalExecutorPort } from '../../local/executor.ts';
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
