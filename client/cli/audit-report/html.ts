/** The audit report as a self-contained HTML page (inline CSS, no script, no external resource). */
import { formatVerifyReport } from '../../../lambda/adapters/aws/dynamodb-audit-verify.ts';
import { printable } from '../terminal-text.ts';
import type { AuditReport, Tally } from './build.ts';
import { executionRow, KILL_SWITCH_HEADERS, killSwitchRow, tallyRow } from './rows.ts';

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

function htmlTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: number[] = [],
  css?: string,
) {
  if (rows.length === 0) return '<p class="none">none</p>';
  const th = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="n"' : ''}>${escapeHtml(printable(c))}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<table${css ? ` class="${css}"` : ''}><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function bars(entries: readonly (readonly [string, number])[], css: string): string {
  if (entries.length === 0) return '<p class="none">none</p>';
  const max = Math.max(...entries.map(([, n]) => n));
  return `<div class="bars">${entries
    .map(
      ([label, n]) =>
        `<div class="bar"><span class="label">${escapeHtml(printable(label))}</span><span class="track"><span class="fill ${css}" style="width:${Math.max(2, Math.round((n / max) * 100))}%"></span></span><span class="n">${n}</span></div>`,
    )
    .join('\n')}</div>`;
}

function verificationHtml(report: AuditReport): string {
  const v = report.verification;
  if (!v) {
    return `<div class="verify unknown"><strong>Audit verification: not run</strong><p>${escapeHtml(report.verificationNote ?? 'skipped')}</p></div>`;
  }
  // The same verdict as the text report's first line: a trail with a lost outcome is not INTACT.
  const incomplete = v.ok && (v.incomplete?.length ?? 0) > 0;
  const css = !v.ok ? 'bad' : incomplete ? 'unknown' : 'ok';
  const verdict = !v.ok ? 'FAILED' : incomplete ? 'INCOMPLETE' : 'INTACT';
  return `<div class="verify ${css}"><strong>Audit verification: ${verdict}</strong><pre>${escapeHtml(formatVerifyReport(v).split('\n').slice(1).join('\n'))}</pre></div>`;
}

/** A self-contained HTML page (inline CSS, no script, no external resource). */
export function renderAuditReportHtml(report: AuditReport): string {
  const tallies = (list: readonly Tally[], what: string) =>
    htmlTable([what, 'executions', 'denials'], list.map(tallyRow), [1, 2]);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>custody audit report — ${escapeHtml(report.generatedAt)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2433; background: #f6f7f9; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 0 0 8px; }
.meta { color: #5b6474; margin-bottom: 16px; }
.tiles { display: flex; gap: 12px; margin-bottom: 16px; flex-wrap: wrap; }
.tile { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: 10px 16px; min-width: 120px; }
.tile .v { font-size: 26px; font-weight: 600; } .tile .k { color: #5b6474; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 12px; }
section { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: 12px 16px; margin-bottom: 12px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef0f3; white-space: nowrap; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.wide { overflow-x: auto; }
/* Role sessions, digests and ids (columns 6 on) break anywhere: the table fits 1000 px unscrolled. */
table.recent { width: 100%; font-size: 13px; }
table.recent td:nth-child(n + 6) { white-space: normal; overflow-wrap: anywhere; } .none { color: #8a93a3; margin: 0; }
.bars .bar { display: flex; align-items: center; gap: 8px; margin: 3px 0; }
.bars .label { width: 210px; overflow: hidden; text-overflow: ellipsis; }
.bars .track { flex: 1; background: #eef0f3; height: 12px; border-radius: 3px; }
.bars .fill { display: block; height: 12px; border-radius: 3px; }
.fill.status { background: #3b7ddd; } .fill.denial { background: #d9822b; }
.verify { border-radius: 6px; padding: 10px 16px; margin-bottom: 12px; border: 1px solid; }
.verify.ok { background: #e9f7ef; border-color: #5cb85c; } .verify.bad { background: #fdecea; border-color: #d9534f; }
.verify.unknown { background: #fff8e1; border-color: #f0ad4e; } .verify pre { margin: 6px 0 0; white-space: pre-wrap; overflow-wrap: anywhere; }
</style>
</head>
<body>
<h1>custody audit report</h1>
<div class="meta">Generated ${escapeHtml(report.generatedAt)} · writes since ${escapeHtml(report.since)} · ${report.recordsRead} records read${report.truncated ? ' (limit reached: older records not counted)' : ''}</div>
${verificationHtml(report)}
<div class="tiles">
<div class="tile"><div class="v" id="executions">${report.executions}</div><div class="k">executions</div></div>
<div class="tile"><div class="v" id="denials">${report.denials}</div><div class="k">denials</div></div>
<div class="tile"><div class="v" id="running">${report.running}</div><div class="k">running or unfinished</div></div>
<div class="tile"><div class="v" id="kill-switch">${report.killSwitch.length}</div><div class="k">kill-switch actions</div></div>
</div>
<div class="grid">
<section><h2>Sandbox statuses</h2>${bars(
    report.statuses.map((s) => [s.status, s.count] as const),
    'status',
  )}</section>
<section><h2>Denials by reason</h2>${bars(
    report.denialsByReason.map((r) => [r.reason, r.count] as const),
    'denial',
  )}</section>
<section><h2>Top callers</h2>${tallies(report.topCallers, 'caller')}</section>
<section><h2>Top profiles</h2>${tallies(report.topProfiles, 'profile')}</section>
</div>
<section><h2>Kill switch</h2>${htmlTable(KILL_SWITCH_HEADERS, report.killSwitch.map(killSwitchRow))}</section>
<section class="wide"><h2>Recent executions</h2>${htmlTable(
    [
      'time',
      'caller',
      'profile',
      'language',
      'outcome',
      'role session',
      'code sha256',
      'output sha256',
      'execution',
    ],
    report.recent.map(executionRow),
    [],
    'recent',
  )}</section>
</body>
</html>
`;
}
