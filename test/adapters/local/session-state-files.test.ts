import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalCredentialsPort } from '../../../lambda/adapters/local/credentials.ts';
import { localDeployment } from '../../../lambda/adapters/local/deployment.ts';
import { FileSessionStateStore } from '../../../lambda/adapters/local/session-state-files.ts';
import { assumeRoleInput } from '../../../lambda/broker/session.ts';
import { parsePolicy } from '../../../lambda/core/policy.ts';
import { policyDocument } from '../../broker/fixture.ts';

const A = 'ses_01HZX3K7R8M9N0P1Q2R3S4T5V6';
const B = 'ses_01HZX3K7R8M9N0P1Q2R3S4T5V7';
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'custody-state-'));
  dirs.push(dir);
  const deployment = localDeployment(parsePolicy(policyDocument), 'us-east-1');
  const credentials = new LocalCredentialsPort({ deployment });
  const profile = deployment.profiles.sandbox!;
  const assume = (executionId: string, sessionId?: string) =>
    credentials.assumeRole(
      assumeRoleInput({
        roleArn: profile.roleArn,
        executorArn: profile.executorArn,
        secretIds: [],
        principalId: 'agent',
        callerArn: 'arn:aws:iam::000000000000:user/agent',
        executionId,
        profile: 'sandbox',
        ...(sessionId ? { sessionId } : {}),
      }),
    );
  return {
    dir: join(dir, 'sessions'),
    store: new FileSessionStateStore(join(dir, 'sessions'), credentials),
    assume,
  };
}

describe('FileSessionStateStore', () => {
  it('keeps the sealed state owner-only under <dir>/<sessionId>/state, and deletes it', async () => {
    const { dir, store, assume } = setup();
    const role = await assume('01HZX3K7R8M9N0P1Q2R3S4T000', A);
    expect(await store.read(role, A)).toBeUndefined();
    await store.write(role, A, Buffer.from('sealed bytes'));
    const file = join(dir, A, 'state');
    expect(readFileSync(file, 'utf8')).toBe('sealed bytes');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, A)).mode & 0o777).toBe(0o700);
    expect(Buffer.from((await store.read(role, A))!).toString()).toBe('sealed bytes');
    await store.delete(A);
    expect(existsSync(join(dir, A))).toBe(false);
  });

  it('refuses a role session tagged with another session, or with none, as IAM would', async () => {
    const { store, assume } = setup();
    const roleA = await assume('01HZX3K7R8M9N0P1Q2R3S4T000', A);
    await store.write(roleA, A, Buffer.from('A state'));
    const roleB = await assume('01HZX3K7R8M9N0P1Q2R3S4T001', B);
    await expect(store.read(roleB, A)).rejects.toThrow(/not tagged with session/);
    await expect(store.write(roleB, A, Buffer.from('x'))).rejects.toThrow(/not tagged with session/);
    const plain = await assume('01HZX3K7R8M9N0P1Q2R3S4T002');
    await expect(store.read(plain, A)).rejects.toThrow(/not tagged with session/);
    const forged = { ...roleA, credentials: { ...roleA.credentials, accessKeyId: 'ASIAFORGED0000000000' } };
    await expect(store.read(forged, A)).rejects.toThrow(/refused/);
    await expect(store.read(roleA, '../etc')).rejects.toThrow(/not a session id/);
  });
});
