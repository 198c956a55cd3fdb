/**
 * docs/controls.md is a claim about the code: each control names the files that implement it and
 * the tests that prove it. This test holds the document to it — every file exists, every cited test
 * is in its file under the cited describe blocks, every framework id is real, and the coverage
 * tables agree with the control rows.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CONTROLS_FILE = path.join(ROOT, 'docs/controls.md');

const NHI = Array.from({ length: 10 }, (_, i) => `NHI${i + 1}`);
const ASI = Array.from({ length: 10 }, (_, i) => `ASI${String(i + 1).padStart(2, '0')}`);
const REQUIRED_ASI = ['ASI02', 'ASI03', 'ASI05'];
const REQUIRED_CSF = [
  'PR.AA-01',
  'PR.AA-02',
  'PR.AA-03',
  'PR.AA-04',
  'PR.AA-05',
  'PR.PS-04',
  'DE.CM-03',
  'DE.CM-09',
  'RS.AN-06',
  'RS.AN-07',
];
const CSF_ID = /^(GV|ID|PR|DE|RS|RC)\.[A-Z]{2}-\d{2}$/;

type Table = string[][];

/** The rows (cells trimmed) of the markdown table under `## heading`, without header and rule. */
function tableUnder(markdown: string, heading: string): Table {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) return [];
  const section = markdown.slice(start + 1).split(/\n## /)[0]!;
  return section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2)
    .map((line) =>
      line
        .slice(1, line.endsWith('|') ? -1 : undefined)
        .split('|')
        .map((c) => c.trim()),
    );
}

const ids = (cell: string): string[] =>
  cell === '—' || cell === ''
    ? []
    : cell
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

/** Where `name` occurs in `source` as a string literal, searching from `from`; -1 if it does not. */
function literalAt(source: string, name: string, from: number): number {
  const found = ["'", '"', '`'].map((q) => source.indexOf(`${q}${name}${q}`, from)).filter((i) => i >= 0);
  return found.length === 0 ? -1 : Math.min(...found);
}

/** What is wrong with the control matrix; empty when it holds. */
function controlMatrixProblems(markdown: string, root = ROOT): string[] {
  const problems: string[] = [];
  const controls = tableUnder(markdown, 'Controls');
  if (controls.length === 0) problems.push('no "## Controls" table');
  const mapped = {
    nhi: new Map<string, Set<string>>(),
    asi: new Map<string, Set<string>>(),
    csf: new Map<string, Set<string>>(),
  };
  const controlIds = new Set<string>();
  for (const row of controls) {
    if (row.length !== 7) {
      problems.push(`row "${row[0]}": ${row.length} cells, expected 7`);
      continue;
    }
    const [id, , implemented, proved, nhi, asi, csf] = row as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    controlIds.add(id);
    const files = [...implemented.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    if (files.length === 0) problems.push(`${id}: names no implementing file`);
    for (const file of files) {
      if (!existsSync(path.join(root, file)))
        problems.push(`${id}: implementing file ${file} does not exist`);
    }
    const citations = proved.split('<br>').map((c) => c.trim());
    for (const citation of citations) {
      const m = /^`(test\/[^`]+\.test\.ts)` > (.+)$/.exec(citation);
      if (!m) {
        problems.push(`${id}: citation "${citation}" is not \`test/....test.ts\` > describe > test`);
        continue;
      }
      const [, file, names] = m as unknown as [string, string, string];
      const full = path.join(root, file);
      if (!existsSync(full)) {
        problems.push(`${id}: test file ${file} does not exist`);
        continue;
      }
      const source = readFileSync(full, 'utf8');
      let at = 0;
      for (const name of names.split(' > ')) {
        const found = literalAt(source, name, at);
        if (found < 0) {
          problems.push(
            `${id}: ${file} has no test or describe named "${name}"${at > 0 ? ' after the one before it' : ''}`,
          );
          break;
        }
        at = found;
      }
    }
    for (const [cell, known, into, label] of [
      [nhi, NHI, mapped.nhi, 'OWASP NHI'],
      [asi, ASI, mapped.asi, 'OWASP Agentic'],
      [csf, null, mapped.csf, 'NIST CSF'],
    ] as const) {
      for (const ref of ids(cell)) {
        if (known ? !known.includes(ref) : !CSF_ID.test(ref))
          problems.push(`${id}: ${label} id "${ref}" is not one`);
        if (!into.has(ref)) into.set(ref, new Set());
        into.get(ref)!.add(id);
      }
    }
  }

  // The coverage tables agree with the rows, both ways.
  const coverage = (
    heading: string,
    required: readonly string[],
    rowsMapped: Map<string, Set<string>>,
    idOf: (first: string) => string,
  ) => {
    const table = tableUnder(markdown, heading);
    const listed = new Map(table.map((row) => [idOf(row[0] ?? ''), row]));
    for (const want of required) {
      if (!listed.has(want)) problems.push(`${heading}: no row for ${want}`);
    }
    for (const [ref, row] of listed) {
      const named = new Set(ids(row.at(-1) ?? ''));
      for (const c of named)
        if (!controlIds.has(c)) problems.push(`${heading}: ${ref} lists unknown control ${c}`);
      const fromRows = rowsMapped.get(ref) ?? new Set();
      for (const c of fromRows)
        if (!named.has(c)) problems.push(`${heading}: ${ref} does not list ${c}, which maps to it`);
      for (const c of named)
        if (!fromRows.has(c)) problems.push(`${heading}: ${ref} lists ${c}, which does not map to it`);
    }
    return listed;
  };
  const nhiRows = coverage(
    'OWASP Non-Human Identities Top 10 (2025)',
    NHI,
    mapped.nhi,
    (f) => f.split(' ')[0]!,
  );
  for (const [ref, row] of nhiRows) {
    if (!/^(yes|no|partly)/.test(row[1] ?? '')) problems.push(`${ref}: "Applies" must say yes, no or partly`);
  }
  const asiRows = coverage(
    'OWASP Top 10 for Agentic Applications 2026',
    REQUIRED_ASI,
    mapped.asi,
    (f) => f.split(' ')[0]!,
  );
  for (const want of REQUIRED_ASI) {
    if (!(asiRows.get(want)?.[1] ?? '').startsWith('yes')) problems.push(`${want}: must apply`);
  }
  coverage('NIST CSF 2.0', REQUIRED_CSF, mapped.csf, (f) => f);
  const csfSection = markdown.slice(markdown.indexOf('\n## NIST CSF 2.0\n'));
  for (const ref of mapped.csf.keys()) {
    if (!csfSection.includes(ref)) problems.push(`NIST CSF 2.0: ${ref} is used but not explained`);
  }
  if (!/PR\.AC-4[^\n]*CSF \*\*1\.1\*\*|PR\.AC-4.*1\.1/s.test(markdown) || !markdown.includes('PR.AA-05')) {
    problems.push('the note that CSF 1.1 PR.AC-4 is CSF 2.0 PR.AA-05 is missing');
  }
  return problems;
}

describe('docs/controls.md', () => {
  const markdown = readFileSync(CONTROLS_FILE, 'utf8');

  it('names files that exist and tests that exist in their files, and maps only real framework ids', () => {
    expect(controlMatrixProblems(markdown)).toEqual([]);
  });

  it('covers every OWASP NHI risk, ASI02, ASI03 and ASI05, and the CSF 2.0 outcomes custody answers', () => {
    const rows = tableUnder(markdown, 'Controls');
    expect(rows.length).toBeGreaterThanOrEqual(15);
    const nhi = new Set(rows.flatMap((r) => ids(r[4] ?? '')));
    const asi = new Set(rows.flatMap((r) => ids(r[5] ?? '')));
    const csf = new Set(rows.flatMap((r) => ids(r[6] ?? '')));
    expect([...nhi].sort()).toEqual([...NHI].sort());
    for (const a of REQUIRED_ASI) expect(asi).toContain(a);
    for (const c of REQUIRED_CSF) expect(csf).toContain(c);
  });

  it('fails when a cited test does not exist in its file', () => {
    const broken = markdown.replace('tells a lookalike role apart', 'tells a lookalike role apart, renamed');
    expect(controlMatrixProblems(broken)).toContain(
      'C2: test/broker/identity.test.ts has no test or describe named "tells a lookalike role apart, renamed" after the one before it',
    );
  });

  it('fails when the cited describe and test names do not come in that order in the file', () => {
    const moved = markdown.replace(
      '`test/broker/identity.test.ts` > Identify > tells a lookalike role apart',
      '`test/broker/identity.test.ts` > Caller ARN matching > refuses a caller from another account > tells a lookalike role apart',
    );
    expect(controlMatrixProblems(moved).join('\n')).toMatch(
      /C2: test\/broker\/identity\.test\.ts has no test/,
    );
  });

  it('fails when a listed file or test file does not exist', () => {
    const broken = markdown
      .replace('`lambda/broker/identity.ts`', '`lambda/broker/identities.ts`')
      .replace(
        '`test/lib/network.test.ts` > CustodyNetwork > turns',
        '`test/lib/networks.test.ts` > CustodyNetwork > turns',
      );
    const problems = controlMatrixProblems(broken);
    expect(problems).toContain('C2: implementing file lambda/broker/identities.ts does not exist');
    expect(problems).toContain('C11: test file test/lib/networks.test.ts does not exist');
  });

  it('fails on a framework id that is not one, or a coverage table that disagrees with the rows', () => {
    const broken = markdown.replace('| NHI4 | ASI03 | PR.AA-03, PR.AA-04 |', '| NHI11 | ASI03 | PR.AC-4 |');
    const problems = controlMatrixProblems(broken);
    expect(problems).toContain('C1: OWASP NHI id "NHI11" is not one');
    expect(problems).toContain('C1: NIST CSF id "PR.AC-4" is not one');
    expect(problems).toContain(
      'OWASP Non-Human Identities Top 10 (2025): NHI4 lists C1, which does not map to it',
    );
  });
});
