/**
 * `custody audit report`: what the CloudWatch dashboard shows compliance staff, for a person at a
 * terminal (or in a browser, with `--html FILE`): recent executions, denials by reason, top callers
 * and profiles, sandbox statuses, kill-switch actions, and the result of verifying the trail now.
 *
 * `buildAuditReport` is pure (records in, numbers out); the command reads the records from the
 * audit table with the same store code the broker writes them with.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DynamoDbAuditStore } from '../../lambda/adapters/aws/dynamodb-audit-store.ts';
import { FileAuditLog } from '../../lambda/adapters/local/file-audit-log.ts';
import { formatVerifyReport, type VerifyResult, verifyAudit } from '../../lambda/audit/verify.ts';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import { auditTarget } from './audit.ts';
import { type CliIo, EXIT, line, parseCommandArgs, UsageError } from './main.ts';
import { printable, printableLines } from './terminal-text.ts';

/** One execution (or refused request) as the report lists it. */
export interface ReportedExecution {
  readonly executionId: string;
  readonly timestamp: string;
  readonly caller: string;
  readonly profile: string;
  readonly language: string;
  /** Sandbox status, 'error', 'running' (started, not completed) or 'denied'. */
  readonly outcome: string;
  /** The denial reason, for denied requests. */
  readonly reason?: string;
  readonly sessionName?: string;
  readonly codeSha256?: string;
  readonly outputSha256?: string;
  readonly totalMs?: number;
}

export interface Tally {
  readonly key: string;
  readonly executions: number;
  readonly denials: number;
}

export interface KillSwitchAction {
  readonly timestamp: string;
  readonly event: 'revoked' | 'reinstated';
  readonly scope: string;
  readonly target: string;
  readonly by: string;
  readonly reason?: string;
}

export interface AuditReport {
  readonly generatedAt: string;
  /** Oldest write included. */
  readonly since: string;
  readonly recordsRead: number;
  /** Whether the read stopped at `limit` (older records in the window were not counted). */
  readonly truncated: boolean;
  /** Executions that completed (any sandbox status, or 'error'). */
  readonly executions: number;
  /** Started and not (yet) completed. */
  readonly running: number;
  readonly denials: number;
  /** Completed executions by sandbox status (succeeded, failed, timed_out, ..., error). */
  readonly statuses: readonly (readonly [string, number])[];
  readonly denialsByReason: readonly (readonly [string, number])[];
  readonly topCallers: readonly Tally[];
  readonly topProfiles: readonly Tally[];
  readonly killSwitch: readonly KillSwitchAction[];
  /** Newest first. */
  readonly recent: readonly ReportedExecution[];
  readonly verification?: VerifyResult;
  /** Why there is no verification (skipped, or it could not run). */
  readonly verificationNote?: string;
}

export interface BuildReportOptions {
  readonly now: Date;
  readonly since: Date;
  /** How many executions to list. @default 20 */
  readonly recent?: number;
  /** How many callers and profiles to rank. @default 10 */
  readonly top?: number;
  readonly truncated?: boolean;
  readonly verification?: VerifyResult;
  readonly verificationNote?: string;
}

function callerOf(r: AuditRecord): string {
  return r.caller.principalId ?? r.caller.arn;
}

function sorted(counts: Map<string, number>): [string, number][] {
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

function bump(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function rank(executions: Map<string, number>, denials: Map<string, number>, top: number): Tally[] {
  const keys = new Set([...executions.keys(), ...denials.keys()]);
  return [...keys]
    .map((key) => ({ key, executions: executions.get(key) ?? 0, denials: denials.get(key) ?? 0 }))
    .sort(
      (a, b) =>
        b.executions + b.denials - (a.executions + a.denials) ||
        b.executions - a.executions ||
        a.key.localeCompare(b.key),
    )
    .slice(0, top);
}

/** Aggregates audit records (any order) into the report. */
export function buildAuditReport(records: readonly AuditRecord[], options: BuildReportOptions): AuditReport {
  const top = options.top ?? 10;
  const byExecution = new Map<string, AuditRecord[]>();
  const killSwitch: KillSwitchAction[] = [];
  for (const r of records) {
    if (r.event === 'revoked' || r.event === 'reinstated') {
      killSwitch.push({
        timestamp: r.timestamp,
        event: r.event,
        scope: r.revocation?.scope ?? '-',
        target: r.revocation?.target ?? '-',
        by: r.caller.arn,
        ...(r.revocation?.reason ? { reason: r.revocation.reason } : {}),
      });
      continue;
    }
    const list = byExecution.get(r.executionId) ?? [];
    list.push(r);
    byExecution.set(r.executionId, list);
  }

  const statuses = new Map<string, number>();
  const reasons = new Map<string, number>();
  const callerRuns = new Map<string, number>();
  const callerDenials = new Map<string, number>();
  const profileRuns = new Map<string, number>();
  const profileDenials = new Map<string, number>();
  const reported: ReportedExecution[] = [];
  let executions = 0;
  let running = 0;
  let denials = 0;

  for (const [executionId, events] of byExecution) {
    const denied = events.find((e) => e.event === 'denied');
    const completed = events.find((e) => e.event === 'completed');
    const started = events.find((e) => e.event === 'started');
    const head = denied ?? completed ?? started;
    if (!head) continue;
    const caller = callerOf(head);
    const profile = head.request.profile ?? '-';
    let outcome: string;
    if (denied) {
      denials++;
      outcome = 'denied';
      bump(reasons, denied.decision.reason);
      bump(callerDenials, caller);
      if (head.request.profile !== undefined) bump(profileDenials, profile);
    } else if (completed) {
      executions++;
      outcome = completed.outcome?.status ?? 'error';
      bump(statuses, outcome);
      bump(callerRuns, caller);
      bump(profileRuns, profile);
    } else {
      running++;
      outcome = 'running';
    }
    const role = completed?.role ?? started?.role;
    const totalMs = completed?.timingsMs?.total;
    reported.push({
      executionId,
      timestamp: (started ?? head).timestamp,
      caller,
      profile,
      language: head.request.language ?? '-',
      outcome,
      ...(denied ? { reason: denied.decision.reason } : {}),
      ...(role ? { sessionName: role.sessionName } : {}),
      ...(head.request.codeSha256 ? { codeSha256: head.request.codeSha256 } : {}),
      ...(completed?.outcome?.outputSha256 ? { outputSha256: completed.outcome.outputSha256 } : {}),
      ...(totalMs !== undefined ? { totalMs } : {}),
    });
  }
  reported.sort(
    (a, b) => b.timestamp.localeCompare(a.timestamp) || b.executionId.localeCompare(a.executionId),
  );
  killSwitch.sort((a, b) => b.timestamp.localeCompare(a.timestamp));

  return {
    generatedAt: options.now.toISOString(),
    since: options.since.toISOString(),
    recordsRead: records.length,
    truncated: options.truncated ?? false,
    executions,
    running,
    denials,
    statuses: sorted(statuses),
    denialsByReason: sorted(reasons),
    topCallers: rank(callerRuns, callerDenials, top),
    topProfiles: rank(profileRuns, profileDenials, top),
    killSwitch,
    recent: reported.slice(0, options.recent ?? 20),
    ...(options.verification ? { verification: options.verification } : {}),
    ...(options.verificationNote ? { verificationNote: options.verificationNote } : {}),
  };
}

// ---------------------------------------------------------------- terminal

function table(headers: readonly string[], cells: readonly (readonly string[])[]): string[] {
  if (cells.length === 0) return ['  (none)'];
  // Record text is the callers' (a profile, a reason): one printable line per cell.
  const rows = cells.map((r) => r.map(printable));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const format = (cells: readonly string[]) =>
    `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')}`.trimEnd();
  return [format(headers), format(widths.map((w) => '-'.repeat(w))), ...rows.map(format)];
}

function short(sha: string | undefined): string {
  return sha ? sha.slice(0, 12) : '-';
}

function outcomeText(e: ReportedExecution): string {
  return e.reason ? `denied ${e.reason}` : e.outcome;
}

/** A report section for the terminal: its title, its table, a blank line. */
function section(title: string, headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [title, ...table(headers, rows), ''];
}

// One row shape each for the terminal and the HTML page, so the two forms show the same columns.
const countRow = ([key, n]: readonly [string, number]) => [key, String(n)];
const tallyRow = (t: Tally) => [t.key, String(t.executions), String(t.denials)];
const killSwitchRow = (k: KillSwitchAction) => [
  k.timestamp,
  k.event,
  `${k.scope} ${k.target}`,
  k.by,
  k.reason ?? '',
];
const executionRow = (e: ReportedExecution) => [
  e.timestamp,
  e.caller,
  e.profile,
  e.language,
  outcomeText(e),
  e.sessionName ?? '-',
  short(e.codeSha256),
  short(e.outputSha256),
  e.executionId,
];
const KILL_SWITCH_HEADERS = ['time', 'action', 'target', 'by', 'reason'];

/** The report for a terminal: plain text, aligned columns, no colour. */
export function formatAuditReport(report: AuditReport): string {
  const out: string[] = [
    `custody audit report — ${report.generatedAt}`,
    `  window: writes since ${report.since}; ${report.recordsRead} records read${report.truncated ? ' (limit reached: older records not counted)' : ''}`,
    `  executions: ${report.executions} completed, ${report.running} running or unfinished; denials: ${report.denials}`,
    '',
    ...section('Sandbox statuses', ['status', 'count'], report.statuses.map(countRow)),
    ...section('Denials by reason', ['reason', 'count'], report.denialsByReason.map(countRow)),
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

// ---------------------------------------------------------------- HTML

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

function htmlTable(headers: readonly string[], rows: readonly (readonly string[])[], numeric: number[] = []) {
  if (rows.length === 0) return '<p class="none">none</p>';
  const th = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="n"' : ''}>${escapeHtml(printable(c))}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
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
.wide { overflow-x: auto; } .none { color: #8a93a3; margin: 0; }
.bars .bar { display: flex; align-items: center; gap: 8px; margin: 3px 0; }
.bars .label { width: 210px; overflow: hidden; text-overflow: ellipsis; }
.bars .track { flex: 1; background: #eef0f3; height: 12px; border-radius: 3px; }
.bars .fill { display: block; height: 12px; border-radius: 3px; }
.fill.status { background: #3b7ddd; } .fill.denial { background: #d9822b; }
.verify { border-radius: 6px; padding: 10px 16px; margin-bottom: 12px; border: 1px solid; }
.verify.ok { background: #e9f7ef; border-color: #5cb85c; } .verify.bad { background: #fdecea; border-color: #d9534f; }
.verify.unknown { background: #fff8e1; border-color: #f0ad4e; } .verify pre { margin: 6px 0 0; white-space: pre-wrap; }
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
<section><h2>Sandbox statuses</h2>${bars(report.statuses, 'status')}</section>
<section><h2>Denials by reason</h2>${bars(report.denialsByReason, 'denial')}</section>
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
  )}</section>
</body>
</html>
`;
}

// ---------------------------------------------------------------- command

function positiveInt(flag: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new UsageError(`${flag}: "${value}" must be an integer from 1 to ${max}`);
  }
  return n;
}

export interface AuditReportCommandOptions {
  /** @default () => new Date() */
  readonly clock?: () => Date;
}

export async function auditReport(
  args: string[],
  io: CliIo,
  options: AuditReportCommandOptions = {},
): Promise<number> {
  const { values } = parseCommandArgs(
    'audit report',
    args,
    {
      'since-hours': { type: 'string' },
      limit: { type: 'string' },
      recent: { type: 'string' },
      html: { type: 'string' },
      json: { type: 'boolean' },
      'no-verify': { type: 'boolean' },
      table: { type: 'string' },
    },
    false,
  );
  const sinceHours = positiveInt('--since-hours', values['since-hours'], 24, 24 * 90);
  const limit = positiveInt('--limit', values.limit, 5000, 100_000);
  const recent = positiveInt('--recent', values.recent, 20, 1000);
  const now = (options.clock ?? (() => new Date()))();
  const since = new Date(now.getTime() - sinceHours * 3_600_000);
  const target = auditTarget(io, values);
  try {
    const store = new DynamoDbAuditStore({ client: target.client, tableName: target.tableName });
    const records = await store.listRecent({ limit, since });

    let verification: VerifyResult | undefined;
    let verificationNote: string | undefined;
    const keyFile = target.local ? join(target.local.home, 'audit-signing-key.pem.pub.pem') : undefined;
    if (values['no-verify']) verificationNote = 'skipped (--no-verify)';
    else if (!target.local || !keyFile)
      verificationNote = 'the report verifies the local stack only; run custody audit verify';
    else if (!existsSync(keyFile)) verificationNote = `no audit public key at ${keyFile}`;
    else {
      // Read-only: checks what the digests cover; `custody audit verify` also digests first.
      verification = await verifyAudit({
        client: target.client,
        tableName: target.tableName,
        publicKey: readFileSync(keyFile, 'utf8'),
        anchors: await new FileAuditLog(target.local.auditLog).readDigestAnchors(),
      });
    }

    const report = buildAuditReport(records, {
      now,
      since,
      recent,
      truncated: records.length >= limit,
      ...(verification ? { verification } : {}),
      ...(verificationNote ? { verificationNote } : {}),
    });
    if (values.html !== undefined) {
      const file = resolve(io.cwd, values.html);
      try {
        writeFileSync(file, printableLines(renderAuditReportHtml(report)));
      } catch (error) {
        throw new UsageError(
          `--html: cannot write ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      }
      line(io.stderr, `custody: report written to ${file}`);
    }
    if (values.json) line(io.stdout, JSON.stringify(report, null, 2));
    else if (values.html === undefined) io.stdout.write(printableLines(formatAuditReport(report)));
    if (verification && !verification.ok) return EXIT.failed;
    return (verification?.incomplete?.length ?? 0) > 0 ? EXIT.incomplete : EXIT.succeeded;
  } finally {
    target.client.destroy();
  }
}
