import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureSecretsFile, LocalSecretsPort } from '../../../lambda/adapters/local/secrets.ts';
import { localSessions } from './local-session.ts';

const { policy, deployment, now, credentials, assume } = localSessions();
const dir = mkdtempSync(join(tmpdir(), 'custody-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'secrets.json');
const secrets = new LocalSecretsPort({ file, credentials, deployment });
const token = { variable: 'REPORT_API_TOKEN', secretId: 'custody/reports/api-token' };

describe('Local secrets', () => {
  it('creates the secrets file with a random value for every secret the policy names', () => {
    expect(ensureSecretsFile(file, policy)).toEqual(['custody/reports/api-token']);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const values = JSON.parse(readFileSync(file, 'utf8'));
    expect(values['custody/reports/api-token']).toMatch(/^local-[\w-]{32}$/);
    expect(ensureSecretsFile(file, policy)).toEqual([]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(values);
  });

  it('returns a granted secret to a session of the profile that grants it', async () => {
    const session = await credentials.assumeRole(assume('reports'));
    const values = JSON.parse(readFileSync(file, 'utf8'));
    expect(await secrets.read(session, [token])).toEqual({
      REPORT_API_TOKEN: values['custody/reports/api-token'],
    });
  });

  it("refuses a secret to another profile's session", async () => {
    const session = await credentials.assumeRole(assume('sandbox'));
    await expect(secrets.read(session, [token])).rejects.toThrow(
      /may not read secret "custody\/reports\/api-token"/,
    );
  });

  it('refuses credentials the local STS did not issue, and expired ones', async () => {
    const session = await credentials.assumeRole(assume('reports'));
    const forged = { ...session, credentials: { ...session.credentials, sessionToken: 'forged' } };
    await expect(secrets.read(forged, [token])).rejects.toThrow(/not a session issued/);
    now.t += 15 * 60_000;
    await expect(secrets.read(session, [token])).rejects.toThrow(/expired/);
  });

  it('names the file when it is not valid JSON', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ nope');
    expect(() => ensureSecretsFile(bad, policy)).toThrow(/bad\.json is not valid JSON/);
  });
});
