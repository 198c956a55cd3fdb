import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureHome, type LocalPaths, localPaths } from '../../../lambda/adapters/local/home.ts';
import {
  callerArnOf,
  loadOrCreateIdentities,
  parseCredentialsFile,
} from '../../../lambda/adapters/local/identities.ts';
import { loadPolicyFile } from '../../../lambda/core/policy.ts';

const policy = loadPolicyFile('custody.policy.json');
let paths: LocalPaths;

beforeEach(() => {
  paths = localPaths(mkdtempSync(join(tmpdir(), 'custody-ids-')));
  ensureHome(paths);
});
afterEach(() => rmSync(paths.home, { recursive: true, force: true }));

describe('Local identities', () => {
  it('writes one shared-credentials profile per policy principal, readable by its owner only', () => {
    const { identities, generated } = loadOrCreateIdentities(paths, policy);
    expect(generated).toBe(true);
    expect(identities.map((i) => i.profileName)).toEqual(['agent', 'auditor', 'stranger']);
    expect(statSync(paths.credentialsFile).mode & 0o777).toBe(0o600);
    const sections = parseCredentialsFile(readFileSync(paths.credentialsFile, 'utf8'), 'credentials');
    const agent = identities.find((i) => i.profileName === 'agent');
    expect(sections.get('agent')?.get('aws_access_key_id')).toBe(agent?.accessKeyId);
    expect(sections.get('agent')?.get('aws_session_token')).toBe(agent?.sessionToken);
  });

  it("suggests in the file's header a run command with the flags it needs and a profile the principal is granted", () => {
    loadOrCreateIdentities(paths, policy);
    const header = readFileSync(paths.credentialsFile, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('#'));
    const run = header.find((line) => line.includes('npx custody run'));
    const match = run?.match(
      /AWS_PROFILE=(\S+) npx custody run --profile (\S+) --language (python|javascript) -c /,
    );
    expect(match, run).toBeTruthy();
    const [, principalId, profile] = match as RegExpMatchArray;
    const principal = policy.principals.find((p) => p.id === principalId);
    expect(principal?.grants.map((g) => g.profile)).toContain(profile);
  });

  it('maps a role principal to a session of its role and a user principal to the user', () => {
    const { identities } = loadOrCreateIdentities(paths, policy);
    const byName = new Map(identities.map((i) => [i.profileName, i]));
    expect(byName.get('agent')).toMatchObject({
      callerArn: 'arn:aws:sts::111122223333:assumed-role/custody-agent/local',
      principalArn: 'arn:aws:iam::111122223333:role/custody-agent',
      accountId: '111122223333',
    });
    expect(byName.get('agent')?.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(byName.get('stranger')).toMatchObject({ callerArn: 'arn:aws:iam::111122223333:user/stranger' });
    expect(byName.get('stranger')?.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(byName.get('stranger')?.sessionToken).toBeUndefined();
  });

  it('drops a role path from the session ARN, as STS does', () => {
    expect(callerArnOf({ arn: 'arn:aws:iam::111122223333:role/team/ci/custody-agent' })).toBe(
      'arn:aws:sts::111122223333:assumed-role/custody-agent/local',
    );
  });

  it('keeps the same keys across restarts', () => {
    const first = loadOrCreateIdentities(paths, policy).identities;
    const second = loadOrCreateIdentities(paths, policy);
    expect(second.generated).toBe(false);
    expect(second.identities).toEqual(first);
  });

  it('generates keys for a principal added to the policy later, keeping the others', () => {
    const first = loadOrCreateIdentities(paths, policy).identities;
    const extended = {
      ...policy,
      principals: [
        ...policy.principals,
        { id: 'ci', arn: 'arn:aws:iam::111122223333:role/ci', description: '', auditor: false, grants: [] },
      ],
    };
    const second = loadOrCreateIdentities(paths, extended);
    expect(second.generated).toBe(true);
    expect(second.identities.slice(0, 3)).toEqual(first);
    expect(second.identities[3]?.profileName).toBe('ci');
  });

  it('names the file and line of a malformed credentials file', () => {
    writeFileSync(paths.credentialsFile, '[agent]\nthis is not a key\n');
    expect(() => loadOrCreateIdentities(paths, policy)).toThrow(/credentials:2: expected/);
  });
});
