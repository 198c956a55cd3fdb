/** One row shape each for the terminal and the HTML page, so the two forms show the same columns. */
import type { KillSwitchAction, ReasonCount, ReportedExecution, StatusCount, Tally } from './build.ts';

function short(sha: string | undefined): string {
  return sha ? sha.slice(0, 12) : '-';
}

function outcomeText(e: ReportedExecution): string {
  return e.reason ? `denied ${e.reason}` : e.outcome;
}

export const statusRow = (s: StatusCount) => [s.status, String(s.count)];
export const reasonRow = (r: ReasonCount) => [r.reason, String(r.count)];
export const tallyRow = (t: Tally) => [t.key, String(t.executions), String(t.denials)];
export const killSwitchRow = (k: KillSwitchAction) => [
  k.timestamp,
  k.event,
  `${k.scope} ${k.target}`,
  k.by,
  k.reason ?? '',
];
export const executionRow = (e: ReportedExecution) => [
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
export const KILL_SWITCH_HEADERS = ['time', 'action', 'target', 'by', 'reason'];
