import { describe, expect, it } from 'vitest';
import {
  profileOfRoleNameOutputKey,
  roleNameOutputKey,
  StackOutputsError,
  stackOutputsOf,
} from '../../lambda/core/stack-outputs.ts';

describe('stack output keys', () => {
  it('writes each profile’s role-name key in the letters and digits an output key allows', () => {
    expect(roleNameOutputKey('sandbox')).toBe('ExecutionRoleNamesandbox');
    expect(roleNameOutputKey('data-reports')).toBe('ExecutionRoleNamedataXreports');
    for (const profile of ['sandbox', 'data-reports', 'a-1', 'a--b', 'x-x9']) {
      expect(roleNameOutputKey(profile)).toMatch(/^[A-Za-z0-9]{1,255}$/);
    }
  });

  it('reads every key back to the one profile it was written for', () => {
    const profiles = ['a1', 'a-1', 'ab', 'a-b', 'a--b', 'x', 'x-x', 'xx', 'reports', 'data-reports'];
    const keys = profiles.map(roleNameOutputKey);
    expect(new Set(keys).size).toBe(profiles.length);
    expect(keys.map(profileOfRoleNameOutputKey)).toEqual(profiles);
  });

  it('reads no profile from other keys', () => {
    for (const key of [
      'AuditTableName',
      'ApiUrl',
      'ExecutionRoleName',
      'ExecutionRoleNameSandbox',
      'ExecutionRoleNameXa',
    ]) {
      expect(profileOfRoleNameOutputKey(key), key).toBeUndefined();
    }
  });

  it('refuses to write a key for what is not a profile name', () => {
    expect(() => roleNameOutputKey('Sandbox')).toThrow(/"Sandbox" is not a profile name/);
  });
});

describe('stackOutputsOf', () => {
  it('reads the outputs by key, whatever their descriptions say', () => {
    expect(
      stackOutputsOf('Custody', [
        { OutputKey: 'AuditTableName', OutputValue: 'table' },
        { OutputKey: 'AuditSigningKeyArn', OutputValue: 'arn:aws:kms:eu-west-1:111122223333:key/k' },
        { OutputKey: 'AuditLogGroupName', OutputValue: '/custody/Custody/audit-x' },
        { OutputKey: roleNameOutputKey('data-reports'), OutputValue: 'role-a' },
        { OutputKey: roleNameOutputKey('sandbox'), OutputValue: 'role-b' },
        { OutputKey: 'ApiUrl', OutputValue: 'https://x/' },
      ]),
    ).toEqual({
      auditTableName: 'table',
      auditSigningKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/k',
      auditLogGroupName: '/custody/Custody/audit-x',
      roleNames: { 'data-reports': 'role-a', sandbox: 'role-b' },
    });
  });

  it('leaves out the outputs a stack deployed before them lacks', () => {
    expect(stackOutputsOf('Custody', [{ OutputKey: 'AuditTableName', OutputValue: 'table' }])).toEqual({
      auditTableName: 'table',
      roleNames: {},
    });
  });

  it('names the stack that has no audit table output', () => {
    const read = () => stackOutputsOf('Other', [{ OutputKey: 'ApiUrl', OutputValue: 'x' }]);
    expect(read).toThrow(StackOutputsError);
    expect(read).toThrow('stack Other has no AuditTableName output: is it a custody stack?');
  });
});
