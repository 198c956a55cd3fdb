/**
 * MetricsSink as CloudWatch Embedded Metric Format through powertools Metrics: metrics without
 * dimensions are buffered and flushed once per request; each dimensioned data point is emitted
 * as its own EMF document (`singleMetric`) so its dimensions do not leak onto other metrics.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC_NAMESPACE, METRIC_SERVICE, type MetricName } from '../../core/metrics.ts';
import type { MetricsSink, MetricUnit as SinkUnit } from '../../core/metrics-sink.ts';

const UNITS: Record<SinkUnit, (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  Count: MetricUnit.Count,
  Milliseconds: MetricUnit.Milliseconds,
};

export class EmfMetrics implements MetricsSink {
  readonly metrics: Metrics;

  constructor(metrics?: Metrics) {
    this.metrics = metrics ?? new Metrics({ namespace: METRIC_NAMESPACE, serviceName: METRIC_SERVICE });
  }

  private add(
    name: MetricName,
    unit: SinkUnit,
    value: number,
    dimensions?: Readonly<Record<string, string>>,
  ): void {
    if (dimensions && Object.keys(dimensions).length > 0) {
      const single = this.metrics.singleMetric();
      for (const [key, dimension] of Object.entries(dimensions)) single.addDimension(key, dimension);
      single.addMetric(name, UNITS[unit], value);
      return;
    }
    this.metrics.addMetric(name, UNITS[unit], value);
  }

  count(name: MetricName, value: number, dimensions?: Readonly<Record<string, string>>): void {
    this.add(name, 'Count', value, dimensions);
  }

  milliseconds(name: MetricName, value: number, dimensions?: Readonly<Record<string, string>>): void {
    this.add(name, 'Milliseconds', value, dimensions);
  }

  flush(): void {
    this.metrics.publishStoredMetrics();
  }
}
