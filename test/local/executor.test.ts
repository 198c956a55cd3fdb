import { describe, expect, it } from 'vitest';
import { loadPolicyFile } from '../../lambda/core/policy.ts';
import type { AssumeRoleInput } from '../../lambda/core/ports.ts';
import type { SandboxRequest, SandboxResult } from '../../lambda/core/types.ts';
import { LocalCredentialsPort } from '../../local/credentials.ts';
import { localDeployment } from '../../local/deployment.ts';
import { LocalExecutorPort } from '../../local/executor.ts';

const deployment = localDeployment(loadPolicyFile('custody.policy.json'), 'us-east-1');
const now = { t: Date.parse('2026-03-01T12:00:00Z') };
const credentials = new LocalCredentialsPort({ deployment, clock: () => new Date(now.t) });

function assume(profile: string): AssumeRoleInput {
  return {
    roleArn: `arn:aws:iam::111122223333:role/custody-exec-${profile}`,
    sessionName: `custody-agent-${profile}-${now.t}`,
    sourceIdentity: 'agent',
    tags: { profile },
    sessionPolicy: '{}',
    durationSeconds: 900,
  };
}

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
