import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PolicyFileError } from '../../lambda/core/errors.ts';
import {
  allowedAccounts,
  DEFAULT_POLICY_FILE,
  loadPolicyFile,
  parsePolicy,
} from '../../lambda/core/policy.ts';

const minimal = {
  version: 1,
  profiles: { basic: { languages: ['python'] } },
  principals: [{ id: 'bot', arn: 'arn:aws:iam::123456789012:role/bot', grants: [{ profile: 'basic' }] }],
};

/** The folders `writePolicy` made, removed when the file's tests are done. */
const policyDirs: string[] = [];
afterAll(() => {
  for (const dir of policyDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function writePolicy(doc: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'custody-policy-'));
  policyDirs.push(dir);
  const file = join(dir, 'policy.json');
  writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return file;
}

describe('Policy file', () => {
  it('loads the shipped example policy', () => {
    const policy = loadPolicyFile(DEFAULT_POLICY_FILE);
    expect(Object.keys(policy.profiles)).toEqual(['sandbox', 'reports', 'remediation']);
    expect(policy.principals.map((p) => p.id)).toEqual(['agent', 'auditor', 'stranger']);
  });

  it('fills documented defaults', () => {
    const policy = parsePolicy(minimal);
    expect(policy.profiles.basic).toMatchObject({
      timeoutMs: 10_000,
      memoryMiB: 1024,
      maxCodeBytes: 65_536,
      maxOutputBytes: 1_048_576,
      secrets: [],
      approvedCode: { mode: 'any' },
      auditCode: 'full',
    });
  });

  it('names the file and the path of a bad field', () => {
    const bad = structuredClone(minimal) as typeof minimal & { profiles: { basic: Record<string, unknown> } };
    bad.profiles.basic.timeoutMs = 'soon';
    const file = writePolicy(bad);
    expect(() => loadPolicyFile(file)).toThrow(PolicyFileError);
    expect(() => loadPolicyFile(file)).toThrow(new RegExp(`${file}[\\s\\S]*profiles\\.basic\\.timeoutMs`));
  });

  it('rejects a grant that names an undeclared profile, naming the grant', () => {
    const bad = structuredClone(minimal);
    bad.principals[0]!.grants = [{ profile: 'missing' }];
    expect(() => parsePolicy(bad, 'p.json')).toThrow(/principals\[0\]\.grants\[0\]\.profile: .*"missing"/);
  });

  it('rejects an ARN as a principal id and a malformed principal ARN', () => {
    const bad = structuredClone(minimal);
    bad.principals[0]!.id = 'arn:aws:iam::123456789012:role/bot';
    bad.principals[0]!.arn = 'arn:aws:iam::12345:role/bot';
    expect(() => parsePolicy(bad)).toThrow(/principals\[0\]\.id[\s\S]*principals\[0\]\.arn/);
  });

  it('rejects a JIT window that ends before it starts', () => {
    const bad = structuredClone(minimal) as unknown as { principals: { grants: unknown[] }[] };
    bad.principals[0]!.grants = [
      { profile: 'basic', notBefore: '2026-02-01T00:00:00Z', notAfter: '2026-01-01T00:00:00Z' },
    ];
    expect(() => parsePolicy(bad)).toThrow(/grants\[0\]\.notAfter: notBefore must be earlier/);
  });

  it('rejects unknown fields, so typos do not silently weaken policy', () => {
    const bad = structuredClone(minimal) as unknown as { profiles: { basic: Record<string, unknown> } };
    bad.profiles.basic.timeoutMS = 5;
    expect(() => parsePolicy(bad)).toThrow(/profiles\.basic: .*timeoutMS/);
  });

  it('reports a file that is not JSON', () => {
    const file = writePolicy('{ "version": 1,');
    expect(() => loadPolicyFile(file)).toThrow(/is not valid JSON/);
  });

  it("defaults the API's allowed accounts to the principals' accounts", () => {
    expect(allowedAccounts(parsePolicy(minimal))).toEqual(['123456789012']);
  });
});

describe('Policy file limits', () => {
  it('refuses to keep more code verbatim in the audit record than a DynamoDB item holds', () => {
    const bad = structuredClone(minimal) as unknown as { profiles: { basic: Record<string, unknown> } };
    bad.profiles.basic.maxCodeBytes = 1_000_000;
    expect(() => parsePolicy(bad)).toThrow(/profiles\.basic\.maxCodeBytes: with auditCode "full"/);
    bad.profiles.basic.auditCode = 'digest';
    expect(parsePolicy(bad).profiles.basic?.maxCodeBytes).toBe(1_000_000);
  });

  it('refuses an output cap larger than the executor can return', () => {
    const bad = structuredClone(minimal) as unknown as { profiles: { basic: Record<string, unknown> } };
    bad.profiles.basic.maxOutputBytes = 4_000_000;
    expect(() => parsePolicy(bad)).toThrow(/profiles\.basic\.maxOutputBytes/);
  });
});
