/** The audit report for a terminal: plain text, aligned columns, no colour. */
import { formatVerifyReport } from '../../../lambda/adapters/aws/dynamodb-audit-verify.ts';
import { printable } from '../terminal-text.ts';
import type { AuditReport } from './build.ts';
import { executionRow, KILL_SWITCH_HEADERS, killSwitchRow, reasonRow, statusRow, tallyRow } from './rows.ts';

function table(headers: readonly string[], cells: readonly (readonly string[])[]): string[] {
  if (cells.length === 0) return ['  (none)'];
  // Record text is the callers' (a profile, a reason): one printable line per cell.
  const rows = cells.map((r) => r.map(printable));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const format = (cells: readonly string[]) =>
    `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')}`.trimEnd();
  return [format(headers), format(widths.map((w) => '-'.repeat(w))), ...rows.map(format)];
}

/** A report section for the terminal: its title, its table, a blank line. */
function section(title: string, headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [title, ...table(headers, rows), ''];
}

/** The report for a terminal: plain text, aligned columns, no colour. */
export function formatAuditReport(report: AuditReport): string {
  const out: string[] = [
    `custody audit report — ${report.generatedAt}`,
    `  window: writes since ${report.since}; ${report.recordsRead} records read${report.truncated ? ' (limit reached: older records not counted)' : ''}`,
    `  executions: ${report.executions} completed, ${report.running} running or unfinished; denials: ${report.denials}`,
    '',
    ...section('Sandbox statuses', ['status', 'count'], report.statuses.map(statusRow)),
    ...section('Denials by reason', ['reason', 'count'], report.denialsByReason.map(reasonRow)),
    ...section('Top callers', ['caller', 'executions', 'denials'], report.topCallers.map(tallyRow)),
    ...section('Top profiles', ['profile', 'executions', 'denials'], report.topProfiles.map(tallyRow)),
    ...section('Kill switch', KILL_SWITCH_HEADERS, report.killSwitch.map(killSwitchRow)),
    ...section(
      `Recent executions (newest first, ${report.recent.length})`,
      ['time', 'caller', 'profile', 'lang', 'outcome', 'role session', 'code', 'output', 'execution'],
      report.recent.map(executionRow),
    ),
  ];
  if (report.verification) out.push(formatVerifyReport(report.verification));
  else out.push(`audit verification: not run (${report.verificationNote ?? 'skipped'})`);
  return `${out.join('\n')}\n`;
}
