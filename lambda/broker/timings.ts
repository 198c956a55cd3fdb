/**
 * How long each phase of one execution took, in milliseconds rounded to the microsecond: the
 * `timingsMs` of its audit records and the `PhaseLatency` metric. The arithmetic lives here once.
 *
 * Phases run in sequence (`lap` times one since the previous mark), except the `started` write and
 * AssumeRole, which overlap: each is timed `from` the same mark, which moves once both are done.
 */
import { performance } from 'node:perf_hooks';
import type { Phase } from '../core/metrics.ts';

const roundMs = (ms: number) => Math.round(ms * 1000) / 1000;

export class PhaseTimings {
  /** Phase -> milliseconds, in the order the phases ended (the records keep this object). */
  readonly phases: Partial<Record<Phase, number>> = {};
  private readonly startedAt: number;
  private markAt: number;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.startedAt = now();
    this.markAt = this.startedAt;
  }

  /** Records the time since the last mark as `phase`, and moves the mark to now. */
  lap(phase: Phase): void {
    const now = this.now();
    this.phases[phase] = roundMs(now - this.markAt);
    this.markAt = now;
  }

  /** The mark overlapping phases are timed from (see `since`). */
  mark(): number {
    return this.markAt;
  }

  /** Records the time from `from` (a `mark()` or `now()`) to now as `phase`; the mark stays. */
  since(phase: Phase, from: number): void {
    this.phases[phase] = roundMs(this.now() - from);
  }

  /** Moves the mark to now, once overlapping phases are all done. */
  markNow(): void {
    this.markAt = this.now();
  }

  /** Records the whole execution so far as `total`. */
  total(): void {
    this.since('total', this.startedAt);
  }

  /** The current instant on this timer's clock, to time a phase with `since` later. */
  instant(): number {
    return this.now();
  }
}
