/**
 * The audit report's numbers: what the CloudWatch dashboard shows compliance staff (recent
 * executions, denials by reason, top callers and profiles, sandbox statuses, kill-switch actions),
 * aggregated from audit records. Pure: records in, numbers out (`text.ts` and `html.ts` show them).
 */
import type { VerifyResult } from '../../../lambda/adapters/aws/dynamodb-audit-verify.ts';
import type { AuditRecord } from '../../../lambda/core/audit-record.ts';

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

/** How many completed executions ended with a sandbox status. */
export interface StatusCount {
  readonly status: string;
  readonly count: number;
}

/** How many requests were denied for a reason. */
export interface ReasonCount {
  readonly reason: string;
  readonly count: number;
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
  readonly statuses: readonly StatusCount[];
  readonly denialsByReason: readonly ReasonCount[];
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
    statuses: sorted(statuses).map(([status, count]) => ({ status, count })),
    denialsByReason: sorted(reasons).map(([reason, count]) => ({ reason, count })),
    topCallers: rank(callerRuns, callerDenials, top),
    topProfiles: rank(profileRuns, profileDenials, top),
    killSwitch,
    recent: reported.slice(0, options.recent ?? 20),
    ...(options.verification ? { verification: options.verification } : {}),
    ...(options.verificationNote ? { verificationNote: options.verificationNote } : {}),
  };
}
