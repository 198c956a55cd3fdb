/**
 * custody's own CloudWatch metrics as the dashboard and the alarms read them.
 *
 * The broker and the digester emit EMF through powertools Metrics, which adds its `service`
 * dimension to every data point: a metric without its own dimension is stored as
 * `Custody/<name>{service=custody-broker}`, and a dimensioned one as
 * `Custody/<name>{service=custody-broker, Reason=...}`. CloudWatch matches dimensions exactly, so
 * a widget that left `service` out would chart nothing. Every metric built here carries it; the
 * tests run the broker with the EMF sink and check each metric and dimension set used in `lib/`
 * against what it really printed.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import {
  METRIC_NAMESPACE,
  METRIC_SERVICE,
  Metric,
  type MetricName,
  type Phase,
} from '../lambda/core/metrics.ts';

/** The dimension powertools adds to every custody metric. */
const SERVICE_DIMENSION = 'service';

/** The broker's dimension for each dimensioned metric (`lambda/broker/api.ts`). */
export const METRIC_DIMENSION = {
  [Metric.Denials]: 'Reason',
  [Metric.SandboxLimitHits]: 'Status',
  [Metric.DependencyFailures]: 'Dependency',
  [Metric.PhaseLatency]: 'Phase',
  [Metric.SessionsEnded]: 'Reason',
} as const satisfies Partial<Record<MetricName, string>>;

export interface CustodyMetricOptions {
  /** The metric's own dimension (besides `service`), e.g. `{ Reason: 'NO_GRANT' }`. @default - none */
  readonly dimensions?: Readonly<Record<string, string>>;
  /** @default 'Sum' */
  readonly statistic?: string;
  /** @default Duration.minutes(5) */
  readonly period?: Duration;
  /** @default - CloudWatch's label */
  readonly label?: string;
}

/** One custody metric, with the `service` dimension every EMF data point carries. */
export function custodyMetric(name: MetricName, options: CustodyMetricOptions = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName: name,
    dimensionsMap: { [SERVICE_DIMENSION]: METRIC_SERVICE, ...options.dimensions },
    statistic: options.statistic ?? 'Sum',
    period: options.period ?? Duration.minutes(5),
    ...(options.label === undefined ? {} : { label: options.label }),
  });
}

/** The latency of one phase of an execution (`PhaseLatency{Phase}`), at a percentile such as 'p99'. */
export function phaseLatency(phase: Phase, statistic: string, period: Duration): cloudwatch.Metric {
  return custodyMetric(Metric.PhaseLatency, {
    dimensions: { [METRIC_DIMENSION[Metric.PhaseLatency]]: phase },
    statistic,
    period,
    label: phase,
  });
}

/**
 * The sum of a dimensioned metric over every value of its dimension, as one series: a CloudWatch
 * Metrics Insights query, which alarms can evaluate (SEARCH they cannot), and which covers a value
 * the broker starts emitting later (a new dependency, a new status) without a change here.
 */
export function sumOverDimension(
  name: keyof typeof METRIC_DIMENSION,
  period: Duration,
  label: string,
): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression:
      `SELECT SUM(${name}) FROM SCHEMA("${METRIC_NAMESPACE}", ${METRIC_DIMENSION[name]}, ${SERVICE_DIMENSION}) ` +
      `WHERE ${SERVICE_DIMENSION} = '${METRIC_SERVICE}'`,
    usingMetrics: {},
    period,
    label,
  });
}

/**
 * One series per value of a metric's dimension, found at view time (a new denial reason appears
 * without a deploy), labelled with the value. Dashboards only: alarms cannot evaluate SEARCH.
 */
export function searchByDimension(
  name: keyof typeof METRIC_DIMENSION,
  statistic: string,
  period: Duration,
): cloudwatch.MathExpression {
  const dimension = METRIC_DIMENSION[name];
  return new cloudwatch.MathExpression({
    expression:
      `SEARCH('{${METRIC_NAMESPACE},${dimension},${SERVICE_DIMENSION}} ` +
      `MetricName="${name}" ${SERVICE_DIMENSION}="${METRIC_SERVICE}"', '${statistic}', ${period.toSeconds()})`,
    usingMetrics: {},
    period,
    label: `\${PROP('Dim.${dimension}')}`,
  });
}
