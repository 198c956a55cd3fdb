/**
 * Where the broker's metrics go: CloudWatch EMF on AWS (`EmfMetrics`), memory in tests and local
 * mode. Names come from `lambda/core/metrics.ts` only, so the dashboard charts what is emitted.
 */
import type { MetricName } from './metrics.ts';

export type MetricUnit = 'Count' | 'Milliseconds';

export interface MetricsSink {
  /** Adds `value` (a count) to `name`, optionally under dimensions (e.g. `{ Reason: 'NO_GRANT' }`). */
  count(name: MetricName, value: number, dimensions?: Readonly<Record<string, string>>): void;
  /** Records a duration in milliseconds. */
  milliseconds(name: MetricName, value: number, dimensions?: Readonly<Record<string, string>>): void;
  /** Emits whatever is buffered (once per request). */
  flush(): void;
}

export interface RecordedMetric {
  readonly name: MetricName;
  readonly unit: MetricUnit;
  readonly value: number;
  readonly dimensions: Readonly<Record<string, string>>;
}

/** Keeps every data point; for tests and the local mode's `/metrics`-style inspection. */
export class InMemoryMetrics implements MetricsSink {
  readonly recorded: RecordedMetric[] = [];
  flushes = 0;

  count(name: MetricName, value: number, dimensions: Readonly<Record<string, string>> = {}): void {
    this.recorded.push({ name, unit: 'Count', value, dimensions });
  }

  milliseconds(name: MetricName, value: number, dimensions: Readonly<Record<string, string>> = {}): void {
    this.recorded.push({ name, unit: 'Milliseconds', value, dimensions });
  }

  flush(): void {
    this.flushes++;
  }

  /** Sum of the values of `name` whose dimensions include `dimensions`. */
  total(name: MetricName, dimensions: Readonly<Record<string, string>> = {}): number {
    return this.recorded
      .filter((m) => m.name === name && Object.entries(dimensions).every(([k, v]) => m.dimensions[k] === v))
      .reduce((sum, m) => sum + m.value, 0);
  }
}

export class NoopMetrics implements MetricsSink {
  count(): void {}
  milliseconds(): void {}
  flush(): void {}
}
