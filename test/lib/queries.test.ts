import { beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIT_QUERIES,
  DENIALS,
  EVERY_EXECUTION_OF_CODE,
  EVERYTHING_A_PRINCIPAL_RAN,
  KILL_SWITCH_ACTIONS,
  LAST_VERIFICATION,
  LATEST_EXECUTIONS,
  PLACEHOLDER,
} from '../../lib/queries.ts';
import { logsInsightsFields, passesFilters } from './cloudwatch-template.ts';
import { type Emitted, emitted, logLinePaths } from './emitted.ts';
import { auditLogGroup, resourcesOfType, type Synthesized, synthCustody } from './synth.ts';

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
