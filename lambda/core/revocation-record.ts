/**
 * The audit record of a kill-switch action: `revoked` or `reinstated`, one per action, written
 * to the audit table (and so covered by the signed digests) and to the audit log.
 */
import type { AuditCaller, AuditRecord, AuditRevocation } from './audit-record.ts';
import type { RevocationScope } from './ports.ts';

/** The decision reason a kill-switch record carries (the same codes the broker denies with). */
function revocationReason(scope: RevocationScope, action: 'revoked' | 'reinstated'): string {
  if (action === 'revoked') return scope === 'profile' ? 'PROFILE_REVOKED' : 'PRINCIPAL_SUSPENDED';
  return scope === 'profile' ? 'PROFILE_REINSTATED' : 'PRINCIPAL_REINSTATED';
}

export interface RevocationRecordInput {
  readonly action: 'revoked' | 'reinstated';
  /** The action's own id (a ULID): the record's executionId. */
  readonly actionId: string;
  readonly at: Date;
  readonly operator: AuditCaller;
  readonly revocation: AuditRevocation;
  readonly origin: 'aws' | 'local';
}

export function revocationRecord(input: RevocationRecordInput): AuditRecord {
  const { scope, target, reason } = input.revocation;
  const what = scope === 'profile' ? `profile ${target}` : `principal ${target}`;
  const verb =
    input.action === 'revoked'
      ? scope === 'profile'
        ? 'revoked (every session invalidated, no new execution)'
        : 'suspended (its grants refused)'
      : 'reinstated';
  return {
    schemaVersion: 1,
    executionId: input.actionId,
    event: input.action,
    timestamp: input.at.toISOString(),
    caller: input.operator,
    request: scope === 'profile' ? { profile: target } : {},
    decision: {
      allowed: true,
      reason: revocationReason(scope, input.action),
      message: `${what} ${verb}${reason ? `: ${reason}` : ''}`,
    },
    revocation: input.revocation,
    origin: input.origin,
  };
}
