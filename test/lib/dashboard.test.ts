import { beforeAll, describe, expect, it } from 'vitest';
import {
  DIGESTER_METRICS,
  METRIC_NAMESPACE,
  Metric,
  type MetricName,
  PHASES,
} from '../../lambda/core/metrics.ts';
import { ACTIVE_SESSIONS, LAST_VERIFICATION, LATEST_EXECUTIONS } from '../../lib/queries.ts';
import {
  dashboardWidgets,
  logsInsightsFields,
  parseSearch,
  type Widget,
  widgetSeries,
  widgetTitled,
} from './cloudwatch-template.ts';
import { type Emitted, emitted, wasEmitted, wasEmittedWithDimensionNames } from './emitted.ts';
import { auditLogGroup, resourcesOfType, type Synthesized, synthCustody } from './synth.ts';

describe('CustodyDashboard', () => {
  let s: Synthesized;
  let widgets: Widget[];
  let real: Emitted;
  beforeAll(async () => {
    s = synthCustody();
    widgets = dashboardWidgets(s.json);
    real = await emitted();
  });

  const custodySeries = () =>
    widgets
      .filter((w) => w.type === 'metric')
      .flatMap((w) => widgetSeries(w).metrics)
      .filter((m) => m.namespace === METRIC_NAMESPACE);

  it('charts only metrics the broker really emits, with the exact dimensions it emits them with', () => {
    const series = custodySeries();
    expect(series.length).toBeGreaterThan(20);
    for (const m of series) {
      if (DIGESTER_METRICS.includes(m.name as MetricName)) continue; // the digester's; see custody-metrics.test.ts
      expect(
        wasEmitted(real.metrics, m.namespace, m.name, m.dimensions),
        `${m.name} ${JSON.stringify(m.dimensions)}`,
      ).toBe(true);
    }
  });

  it('searches per-value series over the exact dimension set the broker emits', () => {
    const searches = widgets
      .filter((w) => w.type === 'metric')
      .flatMap((w) => widgetSeries(w).expressions)
      .filter((e) => e.expression.startsWith('SEARCH('));
    expect(searches.map((e) => parseSearch(e.expression).name).sort()).toEqual(
      [Metric.Denials, Metric.DependencyFailures, Metric.SandboxLimitHits, Metric.SessionsEnded].sort(),
    );
    for (const { expression } of searches) {
      const { namespace, name, dimensionNames } = parseSearch(expression);
      expect(namespace).toBe(METRIC_NAMESPACE);
      expect(wasEmittedWithDimensionNames(real.metrics, namespace, name, dimensionNames), expression).toBe(
        true,
      );
      expect(expression).toContain('service="custody-broker"');
    }
  });

  it('puts every metric custody emits on the dashboard', () => {
    const charted = new Set([
      ...custodySeries().map((m) => m.name),
      ...widgets
        .flatMap((w) => (w.type === 'metric' ? widgetSeries(w).expressions : []))
        .filter((e) => e.expression.startsWith('SEARCH('))
        .map((e) => parseSearch(e.expression).name),
    ]);
    expect([...charted].sort()).toEqual(Object.values(Metric).sort());
  });

  it('shows executions and denials over time, and denials by reason', () => {
    const overTime = widgetSeries(widgetTitled(widgets, 'Executions and denials'));
    expect(overTime.metrics.map((m) => [m.name, m.stat])).toEqual([
      [Metric.Executions, 'Sum'],
      [Metric.Denials, 'Sum'],
    ]);
    const byReason = widgetSeries(widgetTitled(widgets, 'Denials by reason'));
    expect(parseSearch(byReason.expressions[0]!.expression)).toMatchObject({
      name: Metric.Denials,
      dimensionNames: ['Reason', 'service'],
    });
    expect(byReason.expressions[0]!.label).toBe(`\${PROP('Dim.Reason')}`);
  });

  it('charts latency p50 and p99 for every phase of an execution', () => {
    for (const stat of ['p50', 'p99']) {
      const { metrics } = widgetSeries(widgetTitled(widgets, `Latency ${stat} by phase (ms)`));
      expect(metrics.map((m) => m.dimensions.Phase)).toEqual([...PHASES]);
      for (const m of metrics) expect(m).toMatchObject({ name: Metric.PhaseLatency, stat });
    }
  });

  it('shows top callers, top profiles and the most refused callers from the Contributor Insights rules', () => {
    const rules = resourcesOfType(s.json, 'AWS::CloudWatch::InsightRule');
    const charted = widgets
      .map((w) => (w.properties.insightRule as { ruleName: string } | undefined)?.ruleName)
      .filter((name) => name !== undefined);
    expect(charted.sort()).toEqual(rules.map(([id]) => `{{GetAtt:${id}.RuleName}}`).sort());
    for (const title of [/^Top callers/, /^Top profiles/, /^Most refused callers/]) {
      expect(widgetTitled(widgets, title).properties.insightRule).toMatchObject({ maxContributorCount: 10 });
    }
  });

  it('tables the latest executions from the audit log group: time, caller, profile, role session, status, digests', () => {
    const table = widgetTitled(widgets, LATEST_EXECUTIONS.title);
    expect(table.type).toBe('log');
    expect(table.properties.view).toBe('table');
    const [auditLogGroupId] = auditLogGroup(s.json);
    const query = table.properties.query as string;
    expect(query.startsWith(`SOURCE '{{Ref:${auditLogGroupId}}}' |`)).toBe(true);
    expect(logsInsightsFields(query.slice(query.indexOf('|') + 1))).toEqual(
      expect.arrayContaining([
        'timestamp',
        'caller.arn',
        'request.profile',
        'role.sessionName',
        'outcome.status',
        'request.codeSha256',
        'outcome.outputSha256',
      ]),
    );
  });

  it('shows sessions: started and ended, ends by reason, lengths, and the sessions open now', () => {
    const counts = widgetSeries(widgetTitled(widgets, 'Sessions started and ended'));
    expect(counts.metrics.map((m) => [m.name, m.stat, m.dimensions])).toEqual([
      [Metric.SessionsStarted, 'Sum', { service: 'custody-broker' }],
      [Metric.SessionsEnded, 'Sum', { service: 'custody-broker' }],
    ]);
    const byReason = widgetSeries(widgetTitled(widgets, 'Session ends by reason'));
    expect(parseSearch(byReason.expressions[0]!.expression)).toMatchObject({
      name: Metric.SessionsEnded,
      dimensionNames: ['Reason', 'service'],
    });
    const lengths = widgetSeries(widgetTitled(widgets, /^Session length/));
    expect(lengths.metrics.map((m) => [m.name, m.stat])).toEqual([
      [Metric.SessionSeconds, 'p50'],
      [Metric.SessionSeconds, 'p99'],
      [Metric.SessionSeconds, 'Maximum'],
    ]);
    const open = widgetTitled(widgets, ACTIVE_SESSIONS.title);
    expect(open.type).toBe('log');
    const [auditLogGroupId] = auditLogGroup(s.json);
    expect(open.properties.query).toBe(`SOURCE '{{Ref:${auditLogGroupId}}}' | ${ACTIVE_SESSIONS.query}`);
  });

  it('shows the last audit verification: the intact metric, the newest auditVerification line, the alarms', () => {
    const intact = widgetTitled(widgets, /^Audit trail intact/);
    expect(intact.properties.view).toBe('singleValue');
    expect(widgetSeries(intact).metrics).toEqual([
      expect.objectContaining({
        name: Metric.AuditVerificationIntact,
        dimensions: { service: 'custody-broker' },
        stat: 'Minimum',
      }),
    ]);
    const last = widgetTitled(widgets, LAST_VERIFICATION.title);
    expect(last.properties.query).toContain('filter ispresent(auditVerification.ok)');
    expect(last.properties.query).toContain('limit 1');
    const alarms = widgetTitled(widgets, 'Alarms').properties.alarms as string[];
    expect(alarms).toHaveLength(resourcesOfType(s.json, 'AWS::CloudWatch::Alarm').length);
  });
});
