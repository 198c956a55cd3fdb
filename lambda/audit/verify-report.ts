/** `custody audit verify`'s text: the verdict, what was checked, and the first bad record or the missing outcomes. */
import type { VerifyResult } from './verify-result.ts';

/** A report for people: what was checked and, if something is wrong, the first bad record. */
export function formatVerifyReport(result: VerifyResult): string {
  const lines: string[] = [];
  const scope = result.scope === 'all' ? 'whole table' : 'recent digests';
  const incomplete = result.incomplete ?? [];
  if (result.ok && incomplete.length > 0) {
    lines.push(
      `audit verification: INCOMPLETE (${incomplete.length} execution${incomplete.length === 1 ? '' : 's'} started with no outcome after the deadline; no tampering found)`,
    );
  } else if (result.ok) {
    lines.push('audit verification: INTACT');
  } else {
    const p = result.problem;
    lines.push(`audit verification: FAILED (${p.kind.replace('_', ' ')})`);
    if (p.executionId !== undefined)
      lines.push(`  first bad record: execution ${p.executionId}, event ${p.event ?? '?'}`);
    if (p.digestSequence !== undefined) lines.push(`  digest:           ${p.digestSequence}`);
    lines.push(`  problem:          ${p.kind}: ${p.message}`);
  }
  lines.push(`  checked:          ${result.records} records in ${result.digests} digests (${scope})`);
  if (result.lastDigest !== undefined) {
    lines.push(
      `  last digest:      ${result.lastDigest.sequence}, covering writes until ${result.lastDigest.periodEnd} (sha256 ${result.lastDigest.digestSha256})`,
    );
  }
  if (result.ok) lines.push(`  not yet covered:  ${result.uncovered} records written after the last digest`);
  const shown = incomplete.slice(0, 20);
  for (const e of shown) {
    lines.push(
      `  missing outcome:  execution ${e.executionId}, started ${e.startedAt}, no completed or denied record by ${e.deadline}`,
    );
  }
  if (incomplete.length > shown.length) {
    lines.push(
      `  missing outcome:  ... and ${incomplete.length - shown.length} more (--json lists them all)`,
    );
  }
  if (incomplete.length > 0) {
    lines.push(
      '  an outcome the table lacks may be in the audit log: `custody audit reconcile` writes it back',
    );
  }
  return lines.join('\n');
}
