/**
 * The example policy's principals live in 111122223333, the account AWS documentation uses for
 * examples (local mode uses it too). Deployed unchanged, the API's resource policy admits only that
 * account, which no one can use: every call is refused. Synth says so loudly, naming each one.
 */
import { Annotations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { Policy } from '../lambda/core/policy.ts';

/** The account id AWS documentation uses in examples. */
const DOCUMENTATION_ACCOUNT = '111122223333';

/** What in `policy` names the documentation account: principals by id and ARN, allowed accounts. */
export function documentationAccountUses(policy: Policy): string[] {
  const uses = policy.principals
    .filter((p) => p.arn.split(':')[4] === DOCUMENTATION_ACCOUNT)
    .map((p) => `principal ${p.id} (${p.arn})`);
  if (policy.api.allowedAccounts.includes(DOCUMENTATION_ACCOUNT)) {
    uses.push(`api.allowedAccounts ${DOCUMENTATION_ACCOUNT}`);
  }
  return uses;
}

/** Adds a synth-time warning naming every use of the documentation account, if there is one. */
export function warnAboutDocumentationAccount(scope: IConstruct, policy: Policy): void {
  const uses = documentationAccountUses(policy);
  if (uses.length === 0) return;
  Annotations.of(scope).addWarningV2(
    'custody:documentation-account',
    `The policy names AWS's documentation account ${DOCUMENTATION_ACCOUNT}: ${uses.join('; ')}. ` +
      'Deployed like this, the API admits no real caller and refuses every call. Replace it with ' +
      'your accounts and roles (docs/deploy.md, step 2).',
  );
}
