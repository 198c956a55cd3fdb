import { beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_EVENTS } from '../../lambda/core/audit-record.ts';
import {
  AUDIT_CONTRIBUTOR_RULES,
  contributorRuleBody,
  TOP_CALLERS,
  TOP_DENIED_CALLERS,
  TOP_PROFILES,
} from '../../lib/contributor-insights.ts';
import { renderIntrinsics } from './cloudwatch-template.ts';
import { type Emitted, emitted, logLinePaths } from './emitted.ts';
import { auditLogGroup, resourcesOfType, type Synthesized, synthCustody } from './synth.ts';

interface RuleBody {
  Schema: { Name: string; Version: number };
  LogGroupNames: string[];
  LogFormat: string;
  Contribution: { Keys: string[]; Filters: { Match: string; In: string[] }[] };
  AggregateOn: string;
}

function valueAt(object: unknown, jsonPath: string): unknown {
  let at: unknown = object;
  for (const key of jsonPath.replace(/^\$\./, '').split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** What Contributor Insights would count: lines passing every filter and having every key, by key values. */
function contributors(body: RuleBody, lines: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of lines) {
    const event = JSON.parse(line) as unknown;
    if (!body.Contribution.Filters.every((f) => f.In.includes(String(valueAt(event, f.Match))))) continue;
    const keys = body.Contribution.Keys.map((k) => valueAt(event, k));
    if (keys.some((k) => k === undefined)) continue;
    const id = keys.join(' | ');
    counts[id] = (counts[id] ?? 0) + 1;
  }
  return counts;
}

describe('Contributor Insights rules on the audit log group', () => {
  let s: Synthesized;
  let real: Emitted;
  let bodies: Map<string, RuleBody>;
  beforeAll(async () => {
    s = synthCustody();
    real = await emitted();
    bodies = new Map(
      resourcesOfType(s.json, 'AWS::CloudWatch::InsightRule').map(([, r]) => [
        String(r.Properties.RuleName).split('-').at(-1)!,
        JSON.parse(renderIntrinsics(r.Properties.RuleBody)) as RuleBody,
      ]),
    );
  });

  it('creates one enabled CloudWatchLogRule per rule, on the audit log group, counting JSON lines', () => {
    const [auditLogGroupId] = auditLogGroup(s.json);
    const rules = resourcesOfType(s.json, 'AWS::CloudWatch::InsightRule');
    expect([...bodies.keys()].sort()).toEqual(AUDIT_CONTRIBUTOR_RULES.map((r) => r.id).sort());
    for (const [, rule] of rules) {
      expect(rule.Properties.RuleState).toBe('ENABLED');
      expect(String(rule.Properties.RuleName)).toMatch(/^[\x20-\x7E]{1,128}$/);
      const body = renderIntrinsics(rule.Properties.RuleBody);
      expect(body.length).toBeLessThanOrEqual(8192);
      expect([...body].every((c) => c.charCodeAt(0) <= 0x7f)).toBe(true);
    }
    for (const body of bodies.values()) {
      expect(body).toMatchObject({
        Schema: { Name: 'CloudWatchLogRule', Version: 1 },
        LogGroupNames: [`{{Ref:${auditLogGroupId}}}`],
        LogFormat: 'JSON',
        AggregateOn: 'Count',
      });
    }
  });

  it('keys and filters on fields real audit records have, and on event names that exist', () => {
    const paths = logLinePaths(real.logLines);
    for (const body of bodies.values()) {
      for (const key of [...body.Contribution.Keys, ...body.Contribution.Filters.map((f) => f.Match)]) {
        expect(key).toMatch(/^\$\./);
        expect(paths.has(key.slice(2)), key).toBe(true);
      }
      for (const f of body.Contribution.Filters) {
        for (const value of f.In) expect(AUDIT_EVENTS).toContain(value);
      }
    }
    expect(bodies.get(TOP_CALLERS.id)?.Contribution.Keys).toEqual(['$.caller.principalArn']);
    expect(bodies.get(TOP_PROFILES.id)?.Contribution.Keys).toEqual(['$.request.profile']);
  });

  it('counts each request once per caller, each execution once per profile, each denial per signer and reason', () => {
    // Requests to run code (session starts and ends are not runs; their calls are).
    const requests = real.records.filter((r) => r.event === 'started' || r.event === 'denied');
    const top = contributors(bodies.get(TOP_CALLERS.id)!, real.logLines);
    const agent = requests.filter((r) => r.caller.principalId === 'agent');
    expect(top[agent[0]!.caller.principalArn!]).toBe(agent.length);
    expect(Object.values(top).reduce((a, b) => a + b, 0)).toBe(
      requests.filter((r) => r.caller.principalArn !== undefined).length,
    );

    const profiles = contributors(bodies.get(TOP_PROFILES.id)!, real.logLines);
    expect(profiles).toEqual({
      sandbox: real.records.filter((r) => r.event === 'started' && r.request.profile === 'sandbox').length,
      reports: real.records.filter((r) => r.event === 'started' && r.request.profile === 'reports').length,
    });

    // Callers the policy does not know have no principalArn: the denied-callers rule still sees them.
    const refused = contributors(bodies.get(TOP_DENIED_CALLERS.id)!, real.logLines);
    expect(refused['arn:aws:sts::444455556666:assumed-role/custody-agent/s | UNKNOWN_PRINCIPAL']).toBe(1);
    expect(refused['anonymous | SIGNATURE_MISMATCH']).toBe(1);
    expect(Object.values(refused).reduce((a, b) => a + b, 0)).toBe(
      real.records.filter((r) => r.event === 'denied').length,
    );
  });

  it('refuses a rule with no keys or more than four, naming the rule', () => {
    expect(() => contributorRuleBody({ ...TOP_CALLERS, keys: [] }, 'g')).toThrow(
      /TopCallers: needs 1 to 4 keys/,
    );
    expect(() =>
      contributorRuleBody(
        { ...TOP_CALLERS, keys: ['caller.arn', 'caller.principalArn', 'request.profile', 'event', 'origin'] },
        'g',
      ),
    ).toThrow(/needs 1 to 4 keys, has 5/);
  });
});
