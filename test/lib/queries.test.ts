import { beforeAll, describe, expect, it } from 'vitest';
import { recordLine } from '../../lambda/audit/audit-log-line.ts';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import {
  ACTIVE_SESSIONS,
  AUDIT_QUERIES,
  DENIALS,
  EVERY_EXECUTION_OF_CODE,
  EVERYTHING_A_PRINCIPAL_RAN,
  EVERYTHING_IN_A_SESSION,
  KILL_SWITCH_ACTIONS,
  LAST_VERIFICATION,
  LATEST_EXECUTIONS,
  PLACEHOLDER,
  SESSION_ENDS,
} from '../../lib/queries.ts';
import { logsInsightsFields, passesFilters } from './cloudwatch-template.ts';
import { type Emitted, emitted, logLinePaths } from './emitted.ts';
import { auditLogGroup, resourcesOfType, type Synthesized, synthCustody } from './synth.ts';

const SES_A = 'ses_01JD8X3M7Q9V2K4T6W8Y0Z1A2A';
const SES_B = 'ses_01JD8X3M7Q9V2K4T6W8Y0Z1A2B';

/** The audit log of two sessions (A ended after two calls, B still open) and a plain execution. */
function sessionLog(): string[] {
  const base = (event: AuditRecord['event'], executionId: string, minute: number): AuditRecord => ({
    schemaVersion: 1,
    executionId,
    event,
    timestamp: `2030-01-01T12:${String(minute).padStart(2, '0')}:00.000Z`,
    caller: { arn: 'arn:aws:sts::111122223333:assumed-role/custody-agent/a', principalId: 'agent' },
    request: { profile: 'sandbox' },
    decision: { allowed: true, reason: 'ALLOWED' },
    origin: 'aws',
  });
  const records: AuditRecord[] = [
    {
      ...base('session_started', 'evt-a1', 0),
      session: { sessionId: SES_A, expiresAt: '2030-01-01T13:00:00Z' },
    },
    { ...base('started', 'exec-a1', 1), session: { sessionId: SES_A, sequence: 1 } },
    { ...base('completed', 'exec-a1', 2), session: { sessionId: SES_A, sequence: 1 } },
    { ...base('completed', 'exec-plain', 3) },
    {
      ...base('session_started', 'evt-b1', 4),
      session: { sessionId: SES_B, expiresAt: '2030-01-01T13:04:00Z' },
    },
    {
      ...base('session_ended', 'evt-a2', 5),
      session: {
        sessionId: SES_A,
        endReason: 'deleted',
        executions: 1,
        durationSeconds: 300,
        stateBytes: 42,
      },
    },
  ];
  return records.map(recordLine);
}

/** Fields of `query` that no real audit log line has. */
function unknownFields(query: string, paths: ReadonlySet<string>): string[] {
  return logsInsightsFields(query).filter((f) => !paths.has(f));
}

describe('Saved Logs Insights queries', () => {
  let s: Synthesized;
  let real: Emitted;
  let paths: Set<string>;
  beforeAll(async () => {
    s = synthCustody();
    real = await emitted();
    paths = logLinePaths(real.logLines);
  });

  it('saves every query, named under the stack’s folder and scoped to the audit log group only', () => {
    const [auditLogGroupId] = auditLogGroup(s.json);
    const saved = resourcesOfType(s.json, 'AWS::Logs::QueryDefinition').map(([, r]) => r.Properties);
    expect(saved.map((p) => p.Name).sort()).toEqual(AUDIT_QUERIES.map((q) => `Custody/${q.title}`).sort());
    for (const p of saved) {
      expect(p.LogGroupNames).toEqual([{ Ref: auditLogGroupId }]);
      // PutQueryDefinition: name 1..255; ':' and '*' are not allowed, '/' makes the folder.
      expect(String(p.Name)).toMatch(/^[^:*]{1,255}$/);
      expect(String(p.QueryString).length).toBeLessThanOrEqual(10_000);
      expect(AUDIT_QUERIES.map((q) => q.query)).toContain(p.QueryString);
    }
  });

  it('answers "everything principal X ran", "every execution of code digest D" and "all denials yesterday"', () => {
    expect(EVERYTHING_A_PRINCIPAL_RAN.query).toContain(
      `| filter caller.principalArn = "${PLACEHOLDER.principalArn}"`,
    );
    expect(EVERY_EXECUTION_OF_CODE.query).toContain(
      `| filter request.codeSha256 = "${PLACEHOLDER.codeSha256}"`,
    );
    expect(DENIALS.query).toContain('| filter event = "denied"');
    expect(DENIALS.title).toMatch(/yesterday/);
    expect(LATEST_EXECUTIONS.query).toContain('| filter event = "completed"');
  });

  it('says in the name and in a comment which placeholder to replace, since saved queries take no parameters', () => {
    for (const [query, placeholder] of [
      [EVERYTHING_A_PRINCIPAL_RAN, PLACEHOLDER.principalArn],
      [EVERY_EXECUTION_OF_CODE, PLACEHOLDER.codeSha256],
    ] as const) {
      expect(query.title).toContain(`(replace ${placeholder})`);
      expect(query.query.split('\n')[0]).toMatch(new RegExp(`^# Replace ${placeholder} with `));
      expect(query.description).toContain(placeholder);
    }
    expect(DENIALS.query.split('\n')[0]).toMatch(/^# .*time range.*yesterday/);
  });

  it('reads only fields that real audit log lines have (records the broker wrote, verification lines)', () => {
    for (const q of AUDIT_QUERIES) {
      expect(logsInsightsFields(q.query).length, q.title).toBeGreaterThan(0);
      expect(unknownFields(q.query, paths), q.title).toEqual([]);
    }
  });

  it('answers the session questions: which are open, how they ended and how long they lasted, one session’s story', () => {
    const log = sessionLog();
    const select = (query: string) => log.filter((line) => passesFilters(query, line));
    // Every session field the queries read is a field of the records sessions write.
    const paths = logLinePaths(log);
    for (const q of [ACTIVE_SESSIONS, SESSION_ENDS, EVERYTHING_IN_A_SESSION]) {
      const sessionFields = unknownFields(q.query, paths).filter((f) => f.startsWith('session.'));
      expect(sessionFields, q.title).toEqual([]);
    }
    expect(unknownFields(ACTIVE_SESSIONS.query, paths)).toEqual([]);
    expect(unknownFields(SESSION_ENDS.query, paths)).toEqual([]);
    expect(select(SESSION_ENDS.query).map((l) => JSON.parse(l).session)).toEqual([
      { sessionId: SES_A, endReason: 'deleted', executions: 1, durationSeconds: 300, stateBytes: 42 },
    ]);
    const ofA = select(EVERYTHING_IN_A_SESSION.query.replaceAll(PLACEHOLDER.sessionId, SES_A));
    expect(ofA.map((l) => JSON.parse(l).event)).toEqual([
      'session_started',
      'started',
      'completed',
      'session_ended',
    ]);
    expect(select(EVERYTHING_IN_A_SESSION.query)).toEqual([]);
    expect(EVERYTHING_IN_A_SESSION.title).toContain(`(replace ${PLACEHOLDER.sessionId})`);
    expect(EVERYTHING_IN_A_SESSION.query.split('\n')[0]).toMatch(/^# Replace SESSION_ID with /);
    // Active: the session events, then per session id the last one must be its start.
    const [first, stats, open] = ACTIVE_SESSIONS.query.split('\n');
    expect(log.filter((l) => passesFilters(first!, l)).map((l) => JSON.parse(l).executionId)).toEqual([
      'evt-a1',
      'evt-b1',
      'evt-a2',
    ]);
    expect(stats).toMatch(/^\| stats latest\(event\) as lastEvent, .* by session\.sessionId$/);
    expect(open).toBe('| filter lastEvent = "session_started"');
  });

  it('would catch a misspelt or renamed field', () => {
    expect(unknownFields('fields caller.arnn, request.profile | filter event = "denied"', paths)).toEqual([
      'caller.arnn',
    ]);
    expect(unknownFields('stats count(*) as n by outcome.state | sort n desc', paths)).toEqual([
      'outcome.state',
    ]);
  });

  it('selects exactly the lines it promises from a real audit log', () => {
    const lines = real.logLines;
    const select = (query: string) => lines.filter((line) => passesFilters(query, line));
    const agent = real.records.find((r) => r.caller.principalId === 'agent')?.caller.principalArn;
    expect(agent).toMatch(/^arn:aws:iam::/);
    const ofAgent = select(EVERYTHING_A_PRINCIPAL_RAN.query.replaceAll(PLACEHOLDER.principalArn, agent!));
    expect(ofAgent.length).toBe(real.records.filter((r) => r.caller.principalArn === agent).length);
    expect(ofAgent.map((l) => JSON.parse(l).event)).toEqual(
      expect.arrayContaining(['started', 'completed', 'denied']),
    );

    const code = real.records.find((r) => r.event === 'completed')!.request.codeSha256!;
    const ofCode = select(EVERY_EXECUTION_OF_CODE.query.replaceAll(PLACEHOLDER.codeSha256, code));
    expect(ofCode.length).toBeGreaterThan(1);
    expect(ofCode.every((l) => JSON.parse(l).request.codeSha256 === code)).toBe(true);
    expect(select(EVERY_EXECUTION_OF_CODE.query)).toEqual([]);

    const denials = select(DENIALS.query).map((l) => JSON.parse(l).decision.reason);
    expect(denials.sort()).toEqual(
      real.records
        .filter((r) => r.event === 'denied')
        .map((r) => r.decision.reason)
        .sort(),
    );
    expect(denials).toEqual(
      expect.arrayContaining(['NO_GRANT', 'UNKNOWN_PRINCIPAL', 'HARDCODED_CREDENTIAL']),
    );

    expect(select(LATEST_EXECUTIONS.query)).toHaveLength(
      real.records.filter((r) => r.event === 'completed').length,
    );
    expect(select(LAST_VERIFICATION.query)).toEqual([lines.at(-1)]);
    expect(select(KILL_SWITCH_ACTIONS.query).map((l) => JSON.parse(l).revocation.target)).toEqual([
      'reports',
    ]);
  });
});
