/** One audit record on one line, for `custody show` and `custody audit tail`. */
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import { printable } from './terminal-text.ts';

/** Every field made printable: the caller wrote most of them. */
export function describeRecord(r: AuditRecord): string {
  return printable(describeRecordRaw(r));
}

function describeRecordRaw(r: AuditRecord): string {
  const who = r.caller.principalId ?? r.caller.arn;
  if (r.revocation) {
    const { scope, target, reason } = r.revocation;
    return `${r.timestamp}  ${r.event.padEnd(9)} ${r.executionId}  ${who}  ${scope} ${target}  ${r.decision.reason}${reason ? ` (${reason})` : ''}`;
  }
  const what = [r.request.profile, r.request.language].filter(Boolean).join('/') || '-';
  const outcome =
    r.event === 'completed'
      ? (r.outcome?.status ?? '-')
      : r.event === 'denied'
        ? `denied ${r.decision.reason}`
        : 'allowed';
  const role = r.role ? ` session ${r.role.sessionName}` : '';
  return `${r.timestamp}  ${r.event.padEnd(9)} ${r.executionId}  ${who}  ${what}  ${outcome}${role}`;
}
