/** Latency statistics and a fixed-concurrency runner for the benchmark. */
import { performance } from 'node:perf_hooks';

export interface LatencySummary {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  /** Completed operations per second over the whole run (wall clock). */
  readonly throughputPerS: number;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export function summarize(latenciesMs: readonly number[], wallMs: number): LatencySummary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    samples: sorted.length,
    p50Ms: round(percentile(sorted, 50)),
    p95Ms: round(percentile(sorted, 95)),
    p99Ms: round(percentile(sorted, 99)),
    meanMs: round(sorted.length === 0 ? Number.NaN : sum / sorted.length),
    throughputPerS: round((sorted.length / wallMs) * 1000),
  };
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * Runs `count` operations with `concurrency` in flight at once and returns each one's latency.
 * An operation that throws fails the run: the benchmark measures working paths only.
 */
export async function runAtConcurrency(
  count: number,
  concurrency: number,
  operation: (index: number) => Promise<void>,
): Promise<{ latenciesMs: number[]; wallMs: number }> {
  const latenciesMs: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const index = next++;
        const t0 = performance.now();
        await operation(index);
        latenciesMs.push(performance.now() - t0);
      }
    }),
  );
  return { latenciesMs, wallMs: performance.now() - started };
}
