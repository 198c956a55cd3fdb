/**
 * What a bundled JavaScript package costs (#17): the same small CSV job in custody's QuickJS
 * sandbox, in a profile without packages (split by hand) and in one that bundles papaparse
 * (imported, so the code goes through the esbuild transform and the package is compiled in the
 * run's fresh engine), back to back at concurrency 1; and what the bundle costs before any run:
 * its size in the executor asset, the time to bundle it (synth, or local start) and to read and
 * verify it (executor start). Returns its section's markdown lines (`bench/run.ts`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Language } from '../lambda/core/types.ts';
import { PACKAGE_MANIFEST, packageManifest, readPackageFolder } from '../lambda/sandbox/js-package-folder.ts';
import { QuickJsSandbox } from '../lambda/sandbox/quickjs-sandbox.ts';
import { bundleJavaScriptPackages } from '../lib/bundling/js-packages.ts';
import { ROOT } from './floor.ts';
import { runAtConcurrency, summarize } from './lib/stats.ts';

const CSV = 'region,amount\\neu,120\\nus,80\\neu,30';
const LIMITS = { timeoutMs: 10_000, memoryMiB: 256, maxOutputBytes: 65_536 };

interface Case {
  readonly name: string;
  readonly profile: 'plain' | 'papaparse';
  readonly language: Language;
  readonly code: string;
}

const CASES: readonly Case[] = [
  {
    name: 'JS, no package (split by hand)',
    profile: 'plain',
    language: 'javascript',
    code: `const rows = "${CSV}".split("\\n").slice(1).map((l) => l.split(","));\nconsole.log(rows.length)`,
  },
  {
    name: 'JS, papaparse bundled, not imported',
    profile: 'papaparse',
    language: 'javascript',
    code: `const rows = "${CSV}".split("\\n").slice(1).map((l) => l.split(","));\nconsole.log(rows.length)`,
  },
  {
    name: 'JS, import Papa from "papaparse"',
    profile: 'papaparse',
    language: 'javascript',
    code: `import Papa from "papaparse";\nconsole.log(Papa.parse("${CSV}", { header: true }).data.length)`,
  },
  {
    name: 'TS, no package',
    profile: 'plain',
    language: 'typescript',
    code: `const rows: string[][] = "${CSV}".split("\\n").slice(1).map((l) => l.split(","));\nconsole.log(rows.length)`,
  },
  {
    name: 'TS, import Papa from "papaparse"',
    profile: 'papaparse',
    language: 'typescript',
    code: `import Papa from "papaparse";\nconst n: number = Papa.parse("${CSV}", { header: true }).data.length;\nconsole.log(n)`,
  },
];

const ms = (value: number) => value.toFixed(1);

export async function measureJavaScriptPackages(samples: number): Promise<string[]> {
  const bundleStarted = performance.now();
  const packages = bundleJavaScriptPackages(['papaparse'], { profile: 'papaparse', projectRoot: ROOT });
  const bundleMs = performance.now() - bundleStarted;
  const bytes = packages.reduce((sum, p) => sum + Buffer.byteLength(p.source), 0);

  const folder = mkdtempSync(join(tmpdir(), 'custody-bench-js-packages-'));
  let readMs: number;
  try {
    const manifest = packageManifest(packages);
    writeFileSync(join(folder, PACKAGE_MANIFEST), JSON.stringify(manifest));
    for (const [i, p] of packages.entries()) writeFileSync(join(folder, manifest[i]?.file ?? ''), p.source);
    const readStarted = performance.now();
    readPackageFolder(folder);
    readMs = performance.now() - readStarted;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }

  const sandbox = new QuickJsSandbox({ packages: { plain: [], papaparse: packages } });
  const rows: string[] = [];
  try {
    for (const c of CASES) {
      let n = 0;
      const once = async () => {
        const result = await sandbox.run(
          { executionId: `bench-pkg-${n++}`, language: c.language, code: c.code, limits: LIMITS },
          0,
          { profile: c.profile },
        );
        if (result.status !== 'succeeded' || result.stdout !== '3\n') {
          throw new Error(
            `js packages bench: ${c.name} ended ${result.status}: ${result.stdout.slice(0, 200)}`,
          );
        }
      };
      for (let i = 0; i < 5; i++) await once();
      const run = await runAtConcurrency(samples, 1, once);
      const s = summarize(run.latenciesMs, run.wallMs);
      rows.push(`| ${c.name} | ${ms(s.p50Ms)} | ${ms(s.p95Ms)} | ${s.samples} |`);
    }
  } finally {
    await sandbox.close();
  }
  return [
    '| program (custody QuickJsSandbox, concurrency 1) | p50 ms | p95 ms | samples |',
    '|---|---|---|---|',
    ...rows,
    '',
    `papaparse ${packages[0]?.version}: bundle ${(bytes / 1024).toFixed(1)} KiB in the profile's executor asset, ` +
      `bundled in ${ms(bundleMs)} ms (synth, or local start), read and verified in ${ms(readMs)} ms (executor start). ` +
      'An import sends JavaScript through the esbuild transform (as TypeScript always is) and compiles the package in the run’s fresh engine.',
  ];
}
