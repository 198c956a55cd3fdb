import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DIGESTER_METRICS,
  METRIC_NAMESPACE,
  METRIC_SERVICE,
  Metric,
  PHASES,
} from '../../lambda/core/metrics.ts';
import { custodyMetric, METRIC_DIMENSION, sumOverDimension } from '../../lib/custody-metrics.ts';
import { type Emitted, emitted, parseEmf } from './emitted.ts';
import { PROJECT_ROOT } from './synth.ts';

const DIGESTER = path.join(PROJECT_ROOT, 'lambda/handlers/digester.ts');

function sourcesUnder(folder: string): string[] {
  return readdirSync(path.join(PROJECT_ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(PROJECT_ROOT, folder, f));
}

describe('custody metrics as lib/ reads them', () => {
  let real: Emitted;
  beforeAll(async () => {
    real = await emitted();
  });

  it('are all emitted: each broker metric through the real EMF sink, under the Custody namespace', () => {
    const names = new Set(real.metrics.map((m) => m.name));
    for (const name of Object.values(Metric)) {
      if (DIGESTER_METRICS.includes(name)) continue;
      expect(names.has(name), name).toBe(true);
    }
    expect(new Set(real.metrics.map((m) => m.namespace))).toEqual(new Set([METRIC_NAMESPACE]));
  });

  it('carry the service dimension the EMF sink adds to every data point, and only the documented dimension besides', () => {
    for (const m of real.metrics) {
      expect(m.dimensions.service, m.name).toBe(METRIC_SERVICE);
      const own = Object.keys(m.dimensions).filter((k) => k !== 'service');
      const documented = (METRIC_DIMENSION as Record<string, string>)[m.name];
      // Denials and SessionsEnded are emitted twice: with their Reason, and without (for the total).
      if (own.length > 0 || (m.name !== Metric.Denials && m.name !== Metric.SessionsEnded))
        expect(own, m.name).toEqual(documented ? [documented] : []);
    }
    expect(custodyMetric(Metric.Executions).dimensions).toEqual({ service: METRIC_SERVICE });
  });

  it('time every phase of an execution the dashboard charts', () => {
    const phases = new Set(
      real.metrics.filter((m) => m.name === Metric.PhaseLatency).map((m) => m.dimensions.Phase),
    );
    expect([...phases].sort()).toEqual([...PHASES].sort());
  });

  it('include the verification result the digester emits: AuditVerificationIntact, Custody namespace, service only', () => {
    const source = readFileSync(DIGESTER, 'utf8');
    expect(source).toMatch(/new Metrics\(\{ namespace: METRIC_NAMESPACE, serviceName: METRIC_SERVICE \}\)/);
    expect(source).toMatch(/deps\.emitMetric\(Metric\.AuditVerificationIntact, result\.ok \? 1 : 0\)/);
    expect(source).toMatch(/metrics\.addMetric\(name, MetricUnit\.Count, value\)/);
    expect(source).not.toMatch(/addDimension|singleMetric/);
  });

  it('name in lib/ only metrics some code in lambda/ emits', () => {
    const emittedInLambda = new Set(
      sourcesUnder('lambda')
        .filter((f) => !f.endsWith(path.join('core', 'metrics.ts')))
        .flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/Metric\.(\w+)/g)].map((m) => m[1]!)),
    );
    const usedInLib = new Set(
      sourcesUnder('lib').flatMap((f) =>
        [...readFileSync(f, 'utf8').matchAll(/\bMetric\.(\w+)/g)].map((m) => m[1]!),
      ),
    );
    expect(usedInLib.size).toBeGreaterThan(5);
    for (const key of usedInLib) {
      expect(Object.keys(Metric), key).toContain(key);
      expect(emittedInLambda.has(key), `Metric.${key} is read in lib/ but never emitted in lambda/`).toBe(
        true,
      );
    }
  });

  it('parses EMF as CloudWatch does: one data point per dimension set', () => {
    const line = JSON.stringify({
      _aws: {
        Timestamp: 0,
        CloudWatchMetrics: [
          {
            Namespace: 'Custody',
            Dimensions: [['service', 'Reason']],
            Metrics: [{ Name: 'Denials', Unit: 'Count' }],
          },
        ],
      },
      service: 'custody-broker',
      Reason: 'NO_GRANT',
      Denials: 1,
    });
    expect(parseEmf(`noise\n${line}\n`)).toEqual([
      {
        namespace: 'Custody',
        name: 'Denials',
        dimensions: { service: 'custody-broker', Reason: 'NO_GRANT' },
      },
    ]);
  });

  it('sum a dimensioned metric over all its values in one Metrics Insights query an alarm can evaluate', () => {
    const sum = sumOverDimension(Metric.SandboxLimitHits, custodyMetric(Metric.Executions).period, 'hits');
    expect(sum.expression).toBe(
      `SELECT SUM(SandboxLimitHits) FROM SCHEMA("Custody", Status, service) WHERE service = 'custody-broker'`,
    );
  });
});
