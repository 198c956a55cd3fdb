import { describe, expect, it } from 'vitest';
import { callerMatchesPrincipal, identify, parseCallerArn } from '../../lambda/broker/identity.ts';
import { parsePolicy } from '../../lambda/core/policy.ts';

const ROLE = 'arn:aws:iam::111122223333:role/agent';
const ROLE_WITH_PATH = 'arn:aws:iam::111122223333:role/teams/ml/agent';
const session = (role: string, account = '111122223333', partition = 'aws') =>
  `arn:${partition}:sts::${account}:assumed-role/${role}/session-1`;

describe('Caller ARN matching', () => {
  it.each([
    ['a session of the role', session('agent'), ROLE],
    ['a session of a role with a path (STS drops the path)', session('agent'), ROLE_WITH_PATH],
    [
      'a session in aws-cn against an aws-cn role',
      session('agent', '111122223333', 'aws-cn'),
      'arn:aws-cn:iam::111122223333:role/agent',
    ],
    [
      'a session in aws-us-gov against an aws-us-gov role',
      session('agent', '111122223333', 'aws-us-gov'),
      'arn:aws-us-gov:iam::111122223333:role/agent',
    ],
    [
      'the IAM user itself',
      'arn:aws:iam::111122223333:user/stranger',
      'arn:aws:iam::111122223333:user/stranger',
    ],
    [
      'an IAM user with a path',
      'arn:aws:iam::111122223333:user/ops/stranger',
      'arn:aws:iam::111122223333:user/ops/stranger',
    ],
  ])('matches %s', (_label, caller, principal) => {
    expect(callerMatchesPrincipal(caller, principal)).toBe(true);
  });

  it.each([
    ['a lookalike role with a suffix', session('agent2'), ROLE],
    ['a lookalike role that is a prefix', session('agen'), ROLE],
    ['a role differing only in case', session('Agent'), ROLE],
    ['the same role name in another account', session('agent', '444455556666'), ROLE],
    ['the same role name in another partition', session('agent', '111122223333', 'aws-cn'), ROLE],
    ['an aws role against a GovCloud session', session('agent', '111122223333', 'aws-us-gov'), ROLE],
    ['an IAM user named like the role', 'arn:aws:iam::111122223333:user/agent', ROLE],
    [
      'a role ARN against a user principal of that name',
      session('stranger'),
      'arn:aws:iam::111122223333:user/stranger',
    ],
    [
      'an IAM user under another path',
      'arn:aws:iam::111122223333:user/stranger',
      'arn:aws:iam::111122223333:user/ops/stranger',
    ],
    ['a federated user', 'arn:aws:sts::111122223333:federated-user/agent', ROLE],
    ['the account root', 'arn:aws:iam::111122223333:root', ROLE],
    ['a wildcard in the caller', session('*'), ROLE],
    ['a session ARN with a trailing segment', `${session('agent')}/extra`, ROLE],
    ['a malformed ARN', 'arn:aws:sts::1111:assumed-role/agent/s', ROLE],
    ['an empty caller', '', ROLE],
    ['an ARN smuggling a newline', `${session('agent')}\n`, ROLE],
  ])('does not match %s', (_label, caller, principal) => {
    expect(callerMatchesPrincipal(caller, principal)).toBe(false);
  });

  it('parses an assumed-role session into partition, account, role and session', () => {
    expect(parseCallerArn('arn:aws-cn:sts::111122223333:assumed-role/custody-agent/bot@1')).toEqual({
      kind: 'assumed-role',
      partition: 'aws-cn',
      accountId: '111122223333',
      roleName: 'custody-agent',
      sessionName: 'bot@1',
    });
  });
});

describe('Identify', () => {
  const policy = parsePolicy({
    version: 1,
    profiles: { basic: { languages: ['python'] } },
    principals: [
      { id: 'agent', arn: ROLE_WITH_PATH, grants: [{ profile: 'basic' }] },
      { id: 'agent2', arn: 'arn:aws:iam::111122223333:role/agent2', grants: [] },
      { id: 'stranger', arn: 'arn:aws:iam::111122223333:user/stranger', grants: [] },
    ],
  });

  it('finds the principal of an assumed-role session', () => {
    const result = identify(policy, { arn: session('agent'), accountId: '111122223333' });
    expect(result.matched && result.principal.id).toBe('agent');
  });

  it('tells a lookalike role apart', () => {
    const result = identify(policy, { arn: session('agent2') });
    expect(result.matched && result.principal.id).toBe('agent2');
  });

  it('finds an IAM user principal', () => {
    const result = identify(policy, { arn: 'arn:aws:iam::111122223333:user/stranger' });
    expect(result.matched && result.principal.id).toBe('stranger');
  });

  it('refuses a caller whose reported account disagrees with its ARN', () => {
    expect(identify(policy, { arn: session('agent'), accountId: '444455556666' })).toMatchObject({
      matched: false,
      reason: 'UNKNOWN_PRINCIPAL',
    });
  });

  it('refuses a caller from another account', () => {
    expect(identify(policy, { arn: session('agent', '444455556666') })).toMatchObject({ matched: false });
  });
});
