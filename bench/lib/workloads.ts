/**
 * The programs the benchmark runs: a trivial one per language, and a realistic one (parse a 1 MB
 * CSV given as an input file, aggregate it by category) in JavaScript and Python. The CSV is
 * generated deterministically, so every run parses the same bytes.
 */
import type { Language } from '../../lambda/core/types.ts';

export interface Workload {
  readonly name: string;
  readonly language: Language;
  readonly code: string;
  readonly files?: Readonly<Record<string, string>>;
  /** What stdout must contain for a run to count. */
  readonly expect: string;
}

const CSV_FILE = 'sales.csv';
const CATEGORIES = ['books', 'games', 'garden', 'music', 'tools', 'toys', 'video', 'wine'];

/** About `bytes` of CSV: id,category,quantity,unit_price,day — from a fixed linear congruential sequence. */
export function generateCsv(bytes = 1024 * 1024): { text: string; rows: number; totalCents: number } {
  let seed = 42;
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed;
  };
  const lines = ['id,category,quantity,unit_price,day'];
  let size = lines[0]!.length + 1;
  let rows = 0;
  let totalCents = 0;
  while (size < bytes) {
    rows += 1;
    const category = CATEGORIES[next() % CATEGORIES.length]!;
    const quantity = 1 + (next() % 20);
    const cents = 100 + (next() % 99_900);
    const day = `2026-${String(1 + (next() % 12)).padStart(2, '0')}-${String(1 + (next() % 28)).padStart(2, '0')}`;
    const line = `${rows},${category},${quantity},${(cents / 100).toFixed(2)},${day}`;
    lines.push(line);
    size += line.length + 1;
    totalCents += quantity * cents;
  }
  return { text: `${lines.join('\n')}\n`, rows, totalCents };
}

const JS_CSV = `const text = files.read('${CSV_FILE}');
const lines = text.split('\\n');
const header = lines[0].split(',');
const qi = header.indexOf('quantity'), pi = header.indexOf('unit_price'), ci = header.indexOf('category');
const totals = {};
let rows = 0;
for (let i = 1; i < lines.length; i++) {
  if (lines[i] === '') continue;
  const f = lines[i].split(',');
  const cents = Math.round(Number(f[pi]) * 100) * Number(f[qi]);
  totals[f[ci]] = (totals[f[ci]] || 0) + cents;
  rows++;
}
const grand = Object.values(totals).reduce((a, b) => a + b, 0);
console.log(JSON.stringify({ rows, grand, categories: Object.keys(totals).length }));
`;

const PY_CSV = `import csv, json
totals = {}
rows = 0
with open('/input/${CSV_FILE}', newline='') as f:
    for row in csv.DictReader(f):
        cents = round(float(row['unit_price']) * 100) * int(row['quantity'])
        totals[row['category']] = totals.get(row['category'], 0) + cents
        rows += 1
print(json.dumps({"rows": rows, "grand": sum(totals.values()), "categories": len(totals)}))
`;

export function workloads(csv = generateCsv()): Record<string, Workload> {
  const files = { [CSV_FILE]: csv.text };
  const expectCsv = `"rows":${csv.rows}`;
  const expectCsvPy = `"rows": ${csv.rows}`;
  return {
    'js-trivial': { name: 'js-trivial', language: 'javascript', code: 'console.log(6 * 7)', expect: '42' },
    'ts-trivial': {
      name: 'ts-trivial',
      language: 'typescript',
      code: 'const answer: number = 6 * 7;\nconsole.log(answer)',
      expect: '42',
    },
    'py-trivial': { name: 'py-trivial', language: 'python', code: 'print(6 * 7)', expect: '42' },
    'js-csv': { name: 'js-csv', language: 'javascript', code: JS_CSV, files, expect: expectCsv },
    'py-csv': { name: 'py-csv', language: 'python', code: PY_CSV, files, expect: expectCsvPy },
  };
}
