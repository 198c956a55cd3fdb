import { describe, expect, it } from 'vitest';
import { PhaseTimings } from '../../lambda/broker/timings.ts';

/** A clock that reads the given instants in turn (milliseconds, as performance.now()). */
function instants(...values: number[]): () => number {
  return () => {
    const next = values.shift();
    if (next === undefined) throw new Error('clock read more often than the test expected');
    return next;
  };
}

describe('PhaseTimings', () => {
  it('times phases in sequence from the previous mark, rounded to the microsecond', () => {
    const t = new PhaseTimings(instants(100, 101.23456, 105.0004));
    t.lap('validate');
    t.lap('decide');
    expect(t.phases).toEqual({ validate: 1.235, decide: 3.766 });
  });

  it('times overlapping phases from the same mark, and moves the mark once both are done', () => {
    const t = new PhaseTimings(instants(0, 2, 7, 4, 9, 10, 12));
    t.lap('decide'); // 0 -> 2
    const from = t.mark();
    t.since('assume', from); // 2 -> 7
    t.since('auditStart', from); // 2 -> 4
    t.markNow(); // 9
    t.lap('secrets'); // 9 -> 10
    t.total(); // 0 -> 12
    expect(t.phases).toEqual({ decide: 2, assume: 5, auditStart: 2, secrets: 1, total: 12 });
    expect(Object.keys(t.phases)).toEqual(['decide', 'assume', 'auditStart', 'secrets', 'total']);
  });

  it('times a phase from an instant it took', () => {
    const t = new PhaseTimings(instants(0, 3, 3.5, 4));
    const from = t.instant();
    t.since('auditComplete', from);
    t.total();
    expect(t.phases).toEqual({ auditComplete: 0.5, total: 4 });
  });
});
