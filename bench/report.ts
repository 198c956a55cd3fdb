/** Renders the benchmark's results: derived figures (ratios, speed-ups), a console table, markdown. */
import type { E2eFigures, MemoryFigures } from './e2e.ts';
import type { RequestFloor, SandboxFloor } from './floor.ts';
import type { LambdaFigures } from './lambda.ts';
import { type LatencySummary, round } from './lib/stats.ts';
import type { PeerFigures } from './peer.ts';

export interface BenchResults {
  readonly schemaVersion: 1;
  readonly mode: 'full' | 'quick';
  readonly generatedAt: string;
  readonly durationS: number;
  readonly phasesS: Record<string, number>;
  readonly machine: {
    readonly cpuModel: string;
    readonly cores: number;
    readonly memoryGiB: number;
    readonly node: string;
    readonly deno: string;
    readonly platform: string;
    readonly loadAverageStart: number[];
    readonly loadAverageEnd: number[];
  };
  readonly csv: { readonly bytes: number; readonly rows: number };
  readonly floor: {
    readonly request: RequestFloor;
    readonly sandbox: Record<string, SandboxFloor & { readyP50Ms?: number }>;
    /** custody's own QuickJS sandbox alone (fresh instance per run): not floor, the isolation's share. */
    readonly custodySandbox?: Record<string, SandboxFloor>;
  };
  readonly custody: {
    readonly workloads: Record<string, E2eFigures>;
    readonly memory: MemoryFigures;
    /** Python runs with a pause before each (a pre-started process is ready). */
    readonly pacedPython?: LatencySummary;
    /** The same programs as calls of one session, one at a time (absent in results from before sessions). */
    readonly sessions?: SessionFigures;
  };
  readonly peer: PeerFigures;
  readonly lambda: LambdaFigures | { readonly error: string };
  readonly auditThroughput: string[];
  /** bench/js-packages.ts: its section's markdown lines. */
  readonly javascriptPackages?: string[];
  derived?: Derived;
}

/** workload -> the latency of its calls in a session, or why they were not measured. */
export type SessionFigures = Record<string, LatencySummary | { readonly error: string }>;

export interface OverheadRatio {
  readonly workload: string;
  readonly custodyP50Ms: number;
  readonly floorRequestP50Ms: number;
  readonly bareSandboxP50Ms: number;
  /** custody end to end ÷ (floor request + bare sandbox run), p50 at concurrency 1. */
  readonly ratio: number;
  /** custody's own sandbox alone, p50. */
  readonly custodySandboxP50Ms?: number;
  /** custody end to end ÷ (floor request + custody's own sandbox alone): the signed, audited path's share. */
  readonly ratioVsCustodySandbox?: number;
}

export interface Derived {
  readonly ratios: OverheadRatio[];
  readonly python: {
    readonly custodyP50Ms: number;
    readonly naiveP50Ms: number;
    readonly freshProcessP50Ms: number;
    /** naive per-run loadPyodide() ÷ custody end to end. */
    readonly speedupVsNaive: number;
  };
  readonly targets: {
    readonly name: string;
    readonly value: string;
    readonly met: boolean | 'not measured here';
  }[];
}

const LANGUAGE_OF: Record<string, string> = {
  'js-trivial': 'JavaScript, trivial',
  'ts-trivial': 'TypeScript, trivial',
  'py-trivial': 'Python, trivial',
  'js-csv': 'JavaScript, 1 MB CSV',
  'py-csv': 'Python, 1 MB CSV',
};

export function derive(results: BenchResults): Derived {
  const ratios: OverheadRatio[] = [];
  for (const [name, figures] of Object.entries(results.custody.workloads)) {
    const custody = figures.byConcurrency['1']?.p50Ms;
    const request = results.floor.request.byWorkload[name]?.p50Ms;
    const bare = results.floor.sandbox[name]?.summary.p50Ms;
    if (custody === undefined || request === undefined || bare === undefined) continue;
    const own = results.floor.custodySandbox?.[name]?.summary.p50Ms;
    ratios.push({
      workload: name,
      custodyP50Ms: custody,
      floorRequestP50Ms: request,
      bareSandboxP50Ms: bare,
      ratio: round(custody / (request + bare)),
      ...(own === undefined
        ? {}
        : { custodySandboxP50Ms: own, ratioVsCustodySandbox: round(custody / (request + own)) }),
    });
  }
  const custodyPy = results.custody.workloads['py-trivial']?.byConcurrency['1']?.p50Ms ?? Number.NaN;
  const naive = results.peer.summary.p50Ms;
  const python = {
    custodyP50Ms: custodyPy,
    naiveP50Ms: naive,
    freshProcessP50Ms: results.floor.sandbox['py-trivial']?.summary.p50Ms ?? Number.NaN,
    speedupVsNaive: round(naive / custodyPy, 1),
  };
  const js = ratios.find((r) => r.workload === 'js-trivial');
  return {
    ratios,
    python,
    targets: [
      {
        name: 'JavaScript overhead ratio below 1.5 (trivial program, p50, concurrency 1)',
        value: js ? String(js.ratio) : 'n/a',
        met: js !== undefined && js.ratio < 1.5,
      },
      {
        name: 'Python end to end at least 5x faster than a fresh loadPyodide() per run',
        value: `${python.speedupVsNaive}x`,
        met: python.speedupVsNaive >= 5,
      },
      {
        name: 'No lost audit record at any concurrency',
        value: 'asserted by test/load/executions.test.ts (2,000 executions at concurrency 32)',
        met: 'not measured here',
      },
    ],
  };
}

const ms = (value: number | undefined) =>
  value === undefined || Number.isNaN(value) ? 'n/a' : value >= 100 ? value.toFixed(0) : value.toFixed(1);
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function latencyRow(label: string, concurrency: string, s: LatencySummary | undefined): string[] {
  return [
    label,
    concurrency,
    ms(s?.p50Ms),
    ms(s?.p95Ms),
    ms(s?.p99Ms),
    s ? s.throughputPerS.toFixed(1) : 'n/a',
    String(s?.samples ?? 0),
  ];
}

function sections(results: BenchResults): { title: string; body: string }[] {
  const d = results.derived ?? derive(results);
  const m = results.machine;
  const out: { title: string; body: string }[] = [];

  out.push({
    title: 'Machine',
    body: table(
      ['CPU', 'cores', 'memory', 'Node', 'Deno', 'OS', 'load average (start → end)'],
      [
        [
          m.cpuModel,
          String(m.cores),
          `${m.memoryGiB} GiB`,
          m.node,
          m.deno,
          m.platform,
          `${m.loadAverageStart.join(' ')} → ${m.loadAverageEnd.join(' ')}`,
        ],
      ],
    ),
  });

  out.push({
    title: 'Targets',
    body: table(
      ['target', 'measured', 'met'],
      d.targets.map((t) => [t.name, t.value, t.met === true ? 'yes' : t.met === false ? 'NO' : t.met]),
    ),
  });

  const floorRows: string[][] = [];
  for (const [c, s] of Object.entries(results.floor.request.byConcurrency))
    floorRows.push(latencyRow('signed request, trivial body', c, s));
  for (const [name, s] of Object.entries(results.floor.request.byWorkload)) {
    if (name.endsWith('csv')) floorRows.push(latencyRow(`signed request, ${name} body (1 MB)`, '1', s));
  }
  for (const [name, f] of Object.entries(results.floor.sandbox))
    floorRows.push(latencyRow(`bare sandbox: ${LANGUAGE_OF[name] ?? name}`, '1', f.summary));
  for (const [name, f] of Object.entries(results.floor.custodySandbox ?? {}))
    floorRows.push(
      latencyRow(`not floor: custody's sandbox alone, ${LANGUAGE_OF[name] ?? name}`, '1', f.summary),
    );
  out.push({
    title: 'Floor (ms)',
    body: `${table(['what', 'concurrency', 'p50', 'p95', 'p99', 'per s', 'samples'], floorRows)}\n\n${Object.entries(
      {
        ...results.floor.sandbox,
        ...Object.fromEntries(
          Object.entries(results.floor.custodySandbox ?? {}).map(([name, f]) => [
            `custody's sandbox, ${name}`,
            f,
          ]),
        ),
      } as Record<string, SandboxFloor & { readyP50Ms?: number }>,
    )
      .map(
        ([name, f]) =>
          `- ${name}: ${f.note}${f.readyP50Ms !== undefined ? ` (spawn to ready p50 ${ms(f.readyP50Ms)} ms)` : ''}`,
      )
      .filter((line, i, all) => all.indexOf(line) === i)
      .join(
        '\n',
      )}\n- signed request: bench/floor-server.ts, SigV4 verified with lambda/adapters/local/sigv4.ts, own process, same client and keep-alive pool as custody`,
  });

  const e2eRows: string[][] = [];
  const notMeasured: string[] = [];
  for (const [name, figures] of Object.entries(results.custody.workloads)) {
    for (const [c, s] of Object.entries(figures.byConcurrency))
      e2eRows.push(latencyRow(LANGUAGE_OF[name] ?? name, c, s));
    // A call in a session, right under the plain runs of the same program.
    const session = results.custody.sessions?.[name];
    if (session === undefined) continue;
    if ('error' in session) notMeasured.push(`${LANGUAGE_OF[name] ?? name} in a session: ${session.error}`);
    else e2eRows.push(latencyRow(`${LANGUAGE_OF[name] ?? name}, a call in a session`, '1', session));
  }
  const sessionNote =
    results.custody.sessions === undefined
      ? ''
      : `\n\n"A call in a session" runs the same program through \`POST /v1/sessions/{id}/executions\`, one call at a time in one session (its record taken and released, its state unsealed and sealed around the run).${notMeasured.map((n) => `\n- not measured: ${n}`).join('')}`;
  out.push({
    title: 'custody local, end to end (ms)',
    body: `${table(['program', 'concurrency', 'p50', 'p95', 'p99', 'per s', 'samples'], e2eRows)}\n\nSigned request → SigV4 check → policy decision → scoped session → sandbox → audit (dynalite + audit log) → response; \`bin/local.ts\` in its own process, every run checked for HTTP 200 and the expected output. The CSV is ${mib(results.csv.bytes)} MiB, ${results.csv.rows} rows, sent as an input file in the request body.${sessionNote}`,
  });

  const phaseNames = [
    ...new Set(Object.values(results.custody.workloads).flatMap((f) => Object.keys(f.phasesP50Ms))),
  ];
  out.push({
    title: 'Where the time goes (server side, median ms at concurrency 1, from the audit records)',
    body: table(
      ['program', ...phaseNames],
      Object.entries(results.custody.workloads).map(([name, f]) => [
        LANGUAGE_OF[name] ?? name,
        ...phaseNames.map((p) => ms(f.phasesP50Ms[p])),
      ]),
    ),
  });

  out.push({
    title: 'Overhead ratio: custody ÷ (floor request + bare sandbox run), p50 at concurrency 1',
    body: `${table(
      [
        'program',
        'custody',
        'floor request',
        'bare sandbox',
        'ratio',
        "custody's sandbox alone",
        'ratio to it',
      ],
      d.ratios.map((r) => [
        LANGUAGE_OF[r.workload] ?? r.workload,
        ms(r.custodyP50Ms),
        ms(r.floorRequestP50Ms),
        ms(r.bareSandboxP50Ms),
        r.ratio.toFixed(2),
        ms(r.custodySandboxP50Ms),
        r.ratioVsCustodySandbox === undefined ? 'n/a' : r.ratioVsCustodySandbox.toFixed(2),
      ]),
    )}\n\n"ratio" is the issue's definition. The last two columns split it: custody's sandbox alone (a fresh WebAssembly instance and memory per run, its limits and capture, no request or audit) against the bare run shows what isolating each run costs; "ratio to it" is the rest, the signed and audited path (SigV4, decision, scoped session, two conditional audit writes, two revocation reads, audit-log lines).`,
  });

  out.push({
    title: 'Python: custody vs the naive peer (trivial program, ms)',
    body: `${table(
      ['path', 'p50', 'p95', 'samples'],
      [
        [
          'custody end to end (pre-started Deno + Pyodide snapshot, fresh process per run)',
          ms(d.python.custodyP50Ms),
          ms(results.custody.workloads['py-trivial']?.byConcurrency['1']?.p95Ms),
          String(results.custody.workloads['py-trivial']?.byConcurrency['1']?.samples ?? 0),
        ],
        [
          'fresh Deno process from the snapshot, no pre-start (floor)',
          ms(d.python.freshProcessP50Ms),
          ms(results.floor.sandbox['py-trivial']?.summary.p95Ms),
          String(results.floor.sandbox['py-trivial']?.summary.samples ?? 0),
        ],
        [
          'naive: fresh loadPyodide() per execution (peer stand-in)',
          ms(d.python.naiveP50Ms),
          ms(results.peer.summary.p95Ms),
          String(results.peer.summary.samples),
        ],
      ],
    )}\n\ncustody is **${d.python.speedupVsNaive}x** faster end to end than the naive path (whose loadPyodide() alone takes ${ms(results.peer.loadP50Ms)} ms p50). Peer: ${results.peer.note}.`,
  });

  const mem = results.custody.memory;
  out.push({
    title: 'Memory under the concurrency-32 runs',
    body: `${table(
      ['server RSS before (MiB)', 'server peak RSS (MiB)', 'Python host processes, peak sum (MiB)'],
      [[ms(mem.serverRssBeforeMiB), ms(mem.serverPeakRssMiB), ms(mem.childrenPeakRssMiB)]],
    )}\n\nMethod: ${mem.method}.`,
  });

  if ('error' in results.lambda) {
    out.push({ title: 'Lambda', body: `not measured: ${results.lambda.error}` });
  } else {
    const l = results.lambda;
    const runtimeRows = Object.entries(l.executorRuntimeBytes)
      .sort((a, b) => b[1] - a[1])
      .map(([file, bytes]) => [`executor runtime/${file}`, mib(bytes), '']);
    out.push({
      title: 'Lambda bundles (MiB)',
      body: `${table(
        ['file', 'size', 'source map'],
        [
          ...Object.entries(l.bundles).map(([name, b]) => [
            `${name} (${b.entry}) index.mjs`,
            mib(b.bundleBytes),
            mib(b.sourceMapBytes),
          ]),
          ...runtimeRows,
          ['executor runtime, total', mib(l.executorRuntimeTotalBytes), ''],
        ],
      )}\n\n${l.note}.`,
    });
    out.push({
      title: 'Executor cold init, measured locally (ms, median)',
      body: l.coldInit
        ? table(
            [
              'import the bundled handler',
              'first JavaScript execution',
              'first Python execution',
              'spawn to first JS result',
              'samples',
            ],
            [
              [
                ms(l.coldInit.importMs),
                ms(l.coldInit.firstJsMs),
                ms(l.coldInit.firstPythonMs),
                ms(l.coldInit.spawnToFirstJsMs),
                String(l.coldInit.samples),
              ],
            ],
          )
        : `not measured: ${l.coldInitError ?? 'unknown error'}`,
    });
  }

  out.push({
    title: 'Audit store write throughput (bench/audit-throughput.ts)',
    body: results.auditThroughput.join('\n'),
  });
  if (results.javascriptPackages) {
    out.push({
      title: 'JavaScript packages: a profile with papaparse against one without (bench/js-packages.ts)',
      body: results.javascriptPackages.join('\n'),
    });
  }
  out.push({
    title: 'Run',
    body: `Mode ${results.mode}, ${results.durationS} s in all (${Object.entries(results.phasesS)
      .map(([p, s]) => `${p} ${s} s`)
      .join(', ')}). Generated ${results.generatedAt}.`,
  });
  return out;
}

export function renderMarkdown(results: BenchResults): string {
  const header = `# Benchmarks

Produced by \`npm run bench\` (bench/run.ts) in one run on the machine below; bench/results.json
holds the same figures. Latencies are measured at the client, over loopback, with SigV4 signing
included on both sides of every comparison. Figures are reported, never asserted in tests; a busy
machine (see the load average) inflates them.
`;
  return `${header}\n${sections(results)
    .map((s) => `## ${s.title}\n\n${s.body}\n`)
    .join('\n')}`;
}

export function renderConsole(results: BenchResults): string {
  return `${sections(results)
    .map((s) => `\n== ${s.title}\n${s.body}`)
    .join('\n')}\n`;
}
