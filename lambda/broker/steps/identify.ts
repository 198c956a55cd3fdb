/** Step 1, identify: the caller's principal in the policy, and the caller as the audit keeps it. */
import type { AuditCaller } from '../../core/audit-record.ts';
import { DeniedError } from '../../core/errors.ts';
import type { Policy, Principal } from '../../core/policy.ts';
import { auditCaller } from '../audit-records.ts';
import type { CallerIdentity } from '../caller.ts';
import { identify } from '../identity.ts';

export type Identified =
  | { readonly ok: true; readonly principal: Principal; readonly caller: AuditCaller }
  | { readonly ok: false; readonly caller: AuditCaller; readonly error: DeniedError };

export function identifyCaller(policy: Policy, caller: CallerIdentity): Identified {
  const identity = identify(policy, caller);
  if (!identity.matched) {
    return {
      ok: false,
      caller: auditCaller(caller),
      error: new DeniedError(identity.reason, identity.message),
    };
  }
  return { ok: true, principal: identity.principal, caller: auditCaller(caller, identity.principal) };
}
