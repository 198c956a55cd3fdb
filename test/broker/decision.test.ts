import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decide, grantState, sandboxLimitsFor, usableProfiles } from '../../lambda/broker/decision.ts';
import type { ExecutionRequest } from '../../lambda/broker/request.ts';
import { parsePolicy } from '../../lambda/core/policy.ts';

const NOT_BEFORE = '2030-01-01T09:00:00Z';
const NOT_AFTER = '2030-01-01T17:00:00Z';
const at = (iso: string, offsetMs = 0) => new Date(Date.parse(iso) + offsetMs);
const APPROVED = "console.log('ok')";

const policy = parsePolicy({
  version: 1,
  profiles: {
    basic: { languages: ['python', 'javascript'], timeoutMs: 5000, maxCodeBytes: 64 },
    windowed: { languages: ['python'] },
    approved: {
      languages: ['javascript'],
      approvedCode: {
        mode: 'allowlist',
        sha256: [createHash('sha256').update(APPROVED).digest('hex')],
        patterns: ['print\\(\\d+\\)'],
      },
    },
    unused: { languages: ['python'] },
  },
  principals: [
    {
      id: 'agent',
      arn: 'arn:aws:iam::111122223333:role/agent',
      grants: [
        { profile: 'basic' },
        { profile: 'windowed', notBefore: NOT_BEFORE, notAfter: NOT_AFTER },
        { profile: 'approved' },
      ],
    },
  ],
});
const agent = policy.principals[0]!;
const NOON = at('2030-01-01T12:00:00Z');

function request(overrides: Partial<ExecutionRequest> = {}): ExecutionRequest {
  return { profile: 'basic', language: 'python', code: 'print(1)', ...overrides };
}

describe('Decision', () => {
  it('allows a granted profile, language and size, with limits from the profile', () => {
    const decision = decide({ policy, principal: agent, request: request({ timeoutMs: 2000 }), now: NOON });
    expect(decision).toMatchObject({
      allowed: true,
      profileName: 'basic',
      limits: { timeoutMs: 2000, memoryMiB: 512, maxOutputBytes: 1_048_576 },
    });
  });

  it('uses the profile timeout when the request names none', () => {
    const decision = decide({ policy, principal: agent, request: request(), now: NOON });
    expect(decision.allowed && decision.limits.timeoutMs).toBe(5000);
  });

  it.each([
    ['UNKNOWN_PROFILE', 'a profile the policy does not declare', request({ profile: 'nope' })],
    ['UNKNOWN_PROFILE', 'an inherited object key as profile', request({ profile: 'constructor' })],
    ['NO_GRANT', 'a declared profile the principal holds no grant for', request({ profile: 'unused' })],
    ['LANGUAGE_NOT_ALLOWED', 'a language the profile does not allow', request({ language: 'typescript' })],
    ['PAYLOAD_TOO_LARGE', 'code over maxCodeBytes', request({ code: `print("${'x'.repeat(60)}")` })],
    ['INVALID_REQUEST', 'a timeout over the profile maximum', request({ timeoutMs: 5001 })],
    [
      'CODE_NOT_APPROVED',
      'code off the allowlist',
      request({ profile: 'approved', language: 'javascript', code: 'evil()' }),
    ],
    [
      'CODE_NOT_APPROVED',
      'code that only contains an approved pattern',
      request({ profile: 'approved', language: 'javascript', code: 'print(1); evil()' }),
    ],
    [
      'HARDCODED_CREDENTIAL',
      'code with an AWS access key',
      request({ code: `k="${'AKIA'}Q3EGRJ7XZ2LMNPTW"` }),
    ],
  ])('denies with %s: %s', (reason, _label, req) => {
    const decision = decide({ policy, principal: agent, request: req, now: NOON });
    expect(decision).toMatchObject({ allowed: false, reason });
  });

  it('denies a credential hidden in an input file and names the file, not the value', () => {
    const key = `${'ghp'}_R7kQ2mZx9LpW4vBn8TcY3hJd6FsG1aUeXo0N`;
    const decision = decide({
      policy,
      principal: agent,
      request: request({ files: { 'conf/settings.ini': `[gh]\ntoken=${key}` } }),
      now: NOON,
    });
    expect(decision).toMatchObject({ allowed: false, reason: 'HARDCODED_CREDENTIAL' });
    expect(!decision.allowed && decision.message).toContain('file "conf/settings.ini" line 2');
    expect(JSON.stringify(decision)).not.toContain(key);
  });

  it.each([
    ['code whose sha256 is on the allowlist', APPROVED],
    ['code matching an approved pattern as a whole', 'print(42)'],
  ])('allows %s', (_label, code) => {
    const decision = decide({
      policy,
      principal: agent,
      request: request({ profile: 'approved', language: 'javascript', code }),
      now: NOON,
    });
    expect(decision.allowed).toBe(true);
  });

  describe('just-in-time window', () => {
    const windowed = request({ profile: 'windowed' });
    it.each([
      ['one second before notBefore', at(NOT_BEFORE, -1000), 'GRANT_NOT_YET_VALID'],
      ['one millisecond before notBefore', at(NOT_BEFORE, -1), 'GRANT_NOT_YET_VALID'],
      ['exactly at notBefore (inclusive)', at(NOT_BEFORE), 'ALLOWED'],
      ['one second after notBefore', at(NOT_BEFORE, 1000), 'ALLOWED'],
      ['one second before notAfter', at(NOT_AFTER, -1000), 'ALLOWED'],
      ['exactly at notAfter (exclusive)', at(NOT_AFTER), 'GRANT_EXPIRED'],
      ['one second after notAfter', at(NOT_AFTER, 1000), 'GRANT_EXPIRED'],
    ])('%s: %s', (_label, now, expected) => {
      const decision = decide({ policy, principal: agent, request: windowed, now });
      expect(decision.allowed ? 'ALLOWED' : decision.reason).toBe(expected);
    });

    it('allows when any one of several grants for the profile is valid', () => {
      const principal = {
        ...agent,
        grants: [
          { profile: 'windowed', notAfter: '2030-01-01T00:00:00Z' },
          { profile: 'windowed', notBefore: '2030-01-01T10:00:00Z' },
        ],
      };
      expect(decide({ policy, principal, request: windowed, now: NOON }).allowed).toBe(true);
      expect(decide({ policy, principal, request: windowed, now: at('2030-01-01T05:00:00Z') })).toMatchObject(
        {
          reason: 'GRANT_NOT_YET_VALID',
        },
      );
    });

    it('classifies a grant open on one side', () => {
      expect(grantState({ profile: 'x', notAfter: NOT_AFTER }, at(NOT_AFTER, -1))).toBe('valid');
      expect(grantState({ profile: 'x', notBefore: NOT_BEFORE }, at(NOT_BEFORE, 10 ** 12))).toBe('valid');
    });
  });

  it('gives the code half of the executor memory, within what the sandbox engines can address', () => {
    const profile = (memoryMiB: number, maxOutputBytes = 1024) => ({
      ...policy.profiles.basic!,
      memoryMiB,
      maxOutputBytes,
    });
    expect(sandboxLimitsFor(profile(256), 1000).memoryMiB).toBe(128);
    expect(sandboxLimitsFor(profile(3008), 1000).memoryMiB).toBe(1504);
    expect(sandboxLimitsFor(profile(10_240), 1000).memoryMiB).toBe(2048);
  });

  it('caps output at what the executor accepts', () => {
    const big = { ...policy.profiles.basic!, maxOutputBytes: 4_194_304 };
    expect(sandboxLimitsFor(big, 1000).maxOutputBytes).toBe(1_048_576);
    expect(sandboxLimitsFor({ ...big, maxOutputBytes: 4096 }, 1000).maxOutputBytes).toBe(4096);
  });

  it('lists only the profiles usable now', () => {
    expect(usableProfiles(policy, agent, NOON)).toEqual(['basic', 'windowed', 'approved']);
    expect(usableProfiles(policy, agent, at(NOT_AFTER))).toEqual(['basic', 'approved']);
  });
});
