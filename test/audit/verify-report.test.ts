import { describe, expect, it } from 'vitest';
import { formatVerifyReport } from '../../lambda/audit/verify-report.ts';
import type { VerifyResult } from '../../lambda/audit/verify-result.ts';

const summary = {
  records: 8,
  digests: 3,
  uncovered: 2,
  scope: 'all' as const,
  incomplete: [],
  lastDigest: { sequence: 3, periodEnd: '2026-03-10T10:15:00.000Z', digestSha256: 'a'.repeat(64) },
};

describe('formatVerifyReport', () => {
  it('says INTACT, what was checked and what is not yet covered', () => {
    expect(formatVerifyReport({ ok: true, ...summary })).toBe(
      [
        'audit verification: INTACT',
        '  checked:          8 records in 3 digests (whole table)',
        `  last digest:      3, covering writes until 2026-03-10T10:15:00.000Z (sha256 ${'a'.repeat(64)})`,
        '  not yet covered:  2 records written after the last digest',
      ].join('\n'),
    );
  });

  it('names the kind of tampering, the first bad record and its digest', () => {
    const result: VerifyResult = {
      ok: false,
      ...summary,
      scope: 'recent',
      problem: {
        kind: 'signature_invalid',
        executionId: 'exec-3',
        event: 'completed',
        digestSequence: 2,
        message: 'digest 2 was modified',
      },
    };
    expect(formatVerifyReport(result).split('\n').slice(0, 5)).toEqual([
      'audit verification: FAILED (signature invalid)',
      '  first bad record: execution exec-3, event completed',
      '  digest:           2',
      '  problem:          signature_invalid: digest 2 was modified',
      '  checked:          8 records in 3 digests (recent digests)',
    ]);
  });

  it('reports missing outcomes as INCOMPLETE, at most 20 of them, and how to reconcile', () => {
    const incomplete = Array.from({ length: 22 }, (_, i) => ({
      executionId: `exec-${i}`,
      startedAt: '2026-03-10T10:00:00.000Z',
      deadline: '2026-03-10T10:20:00.000Z',
    }));
    const lines = formatVerifyReport({ ok: true, ...summary, incomplete }).split('\n');

    expect(lines[0]).toBe(
      'audit verification: INCOMPLETE (22 executions started with no outcome after the deadline; no tampering found)',
    );
    expect(lines.filter((l) => l.startsWith('  missing outcome:  execution'))).toHaveLength(20);
    expect(lines).toContain('  missing outcome:  ... and 2 more (--json lists them all)');
    expect(lines.at(-1)).toBe(
      '  an outcome the table lacks may be in the audit log: `custody audit reconcile` writes it back',
    );
  });
});
