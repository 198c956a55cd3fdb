import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import type { Policy } from '../../lambda/core/policy.ts';
import { documentationAccountUses } from '../../lib/documentation-account.ts';
import { examplePolicy, synthCustody } from './synth.ts';

/** The example policy moved to a real-looking account. */
function realAccountPolicy(): Policy {
  const policy = examplePolicy();
  return {
    ...policy,
    api: { ...policy.api, allowedAccounts: ['444455556666'] },
    principals: policy.principals.map((p) => ({ ...p, arn: p.arn.replace('111122223333', '444455556666') })),
  };
}

describe('The documentation account 111122223333 in a deployed policy', () => {
  it('warns at synth, naming every principal and the allowed account', () => {
    const s = synthCustody();
    const warnings = Annotations.fromStack(s.stack).findWarning(
      '*',
      Match.stringLikeRegexp('documentation account 111122223333'),
    );
    expect(warnings).toHaveLength(1);
    const text = String(warnings[0]?.entry.data);
    for (const principal of examplePolicy().principals)
      expect(text).toContain(`principal ${principal.id} (${principal.arn})`);
    expect(text).toContain('api.allowedAccounts 111122223333');
    expect(text).toContain('refuses every call');
  });

  it('stays quiet for a policy of real accounts', () => {
    const policy = realAccountPolicy();
    expect(documentationAccountUses(policy)).toEqual([]);
    const s = synthCustody({ props: { policy } });
    expect(
      Annotations.fromStack(s.stack).findWarning('*', Match.stringLikeRegexp('111122223333')),
    ).toHaveLength(0);
  });

  it('names only the principals still in it', () => {
    const policy = realAccountPolicy();
    const [first, ...rest] = policy.principals;
    const mixed = {
      ...policy,
      principals: [{ ...first!, arn: 'arn:aws:iam::111122223333:role/left-over' }, ...rest],
    };
    expect(documentationAccountUses(mixed)).toEqual([
      `principal ${first!.id} (arn:aws:iam::111122223333:role/left-over)`,
    ]);
  });
});
