/**
 * `npm run test:lambda [-- --cdk-out <dir>] [--memory-mb <n>] [--only executor|broker|digester] [--keep]`,
 * or from another checkout `npx tsx <this repo>/test/lambda-runtime/run.ts --project <dir>`: the synthesized Lambda assets
 * run as Lambda would run them (see execution-environment.ts), with cold init and first, second
 * and third run times of JavaScript and Python. Synthesizes the app once into a temporary folder
 * (the project in the current folder, or --project) unless given a cloud assembly. Needs Linux x64 with bubblewrap (`bwrap`); as root it also applies
 * the CPU share and memory of the function's size with cgroups. Exits 1 on any failed check.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Checks } from './checks.ts';
import { assemblyFunctions, functionByPath, synthesize } from './cloud-assembly.ts';
import { emulationProbe } from './emulation-probe.ts';
import { executorScenarios, type LanguageTimings } from './executor-scenarios.ts';
import { brokerScenario, digesterScenario } from './import-scenarios.ts';
import { EMULATED_ACCOUNT, EMULATED_REGION } from './lambda-environment.ts';
import { LAMBDA_NODE } from './node-runtime.ts';
import { Workspace } from './workspace.ts';

/** Lambda's quota on a function's deployment package, unzipped: 250 MB (262,144,000 bytes). */
const LAMBDA_UNZIPPED_LIMIT_BYTES = 262_144_000;

/**
 * Invocation durations (as Lambda's Duration); the CPU time the environment used for each (what a
 * loaded host does not change: divided by the share, it is the wall time an idle host would see);
 * the executor's own start/run split of each run; how long registered extensions kept the
 * environment up after init and after each response (billed, not seen by the caller).
 */
function timingTable(rows: readonly LanguageTimings[]): string {
  const cell = (text: string) => text.padStart(12);
  const ms = (n: number | undefined) => (n === undefined ? '-' : `${n.toFixed(0)} ms`);
  const runs = Math.max(...rows.map((r) => r.runsMs.length));
  const ordinals = ['1st', '2nd', '3rd', '4th', '5th', '6th', '7th', '8th'];
  const lines = [
    `${'language'.padEnd(12)}${['cold init', ...ordinals.slice(0, runs).map((o) => `${o} run`)].map(cell).join('')}`,
    ...rows.map((r) => `${r.language.padEnd(12)}${[ms(r.initMs), ...r.runsMs.map(ms)].map(cell).join('')}`),
    ...rows.map(
      (r) =>
        `${'  cpu time'.padEnd(12)}${[ms(r.initCpuMs), ...r.runsCpuMs.map(ms)].map(cell).join('')}  (${r.language}, all processes)`,
    ),
    ...rows.map(
      (r) =>
        `${'  start+run'.padEnd(12)}${cell('')}${r.sandboxMs.map((t) => cell(`${t.startMs.toFixed(0)}+${t.runMs.toFixed(0)} ms`)).join('')}  (${r.language}, executor's timings)`,
    ),
    ...rows.map(
      (r) =>
        `${'  to freeze'.padEnd(12)}${[ms(r.initExtensionsMs), ...r.runsExtensionsMs.map(ms)].map(cell).join('')}  (${r.language}, extensions' wait after init / the response)`,
    ),
  ];
  return lines.join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'cdk-out': { type: 'string' },
      'memory-mb': { type: 'string' },
      keep: { type: 'boolean' },
      only: { type: 'string' },
      project: { type: 'string' },
    },
  });
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    process.stderr.write('test:lambda runs on Linux x64 only (the function is x86_64 Linux)\n');
    return 2;
  }
  try {
    execFileSync('bwrap', ['--version'], { stdio: 'ignore' });
  } catch {
    process.stderr.write('test:lambda needs bubblewrap (bwrap): install the Debian package bubblewrap\n');
    return 2;
  }
  const project = path.resolve(values.project ?? process.cwd());
  if (!values['cdk-out'] && !existsSync(path.join(project, 'cdk.json'))) {
    process.stderr.write(
      `test:lambda: no cdk.json in ${project}; run it from the project or pass --project <dir>\n`,
    );
    return 2;
  }
  const synthDir = values['cdk-out'] ? undefined : mkdtempSync(path.join(tmpdir(), 'custody-cdk-out-'));
  const cdkOut = values['cdk-out']
    ? path.resolve(values['cdk-out'])
    : synthesize(project, synthDir as string);
  const functions = assemblyFunctions(cdkOut, {
    account: EMULATED_ACCOUNT,
    region: EMULATED_REGION,
    partition: 'aws',
  });
  const executor = functionByPath(functions, 'Executor');
  const broker = functionByPath(functions, 'Broker');
  const digester = functionByPath(functions, 'Digester');
  const memoryMiB = values['memory-mb'] ? Number(values['memory-mb']) : executor.memoryMiB;

  const checks = new Checks();
  const workspace = new Workspace();
  try {
    process.stdout.write(
      `lambda-runtime: Node ${LAMBDA_NODE.version} (${LAMBDA_NODE.name}), cloud assembly ${cdkOut}\n`,
    );
    // Lambda refuses code over 250 MB unzipped (the limit for code deployed from S3, as CDK does).
    for (const fn of [executor, broker, digester]) {
      workspace.taskDir(fn);
      const size = workspace.sizes.get(fn.constructPath);
      const mb = (bytes = 0) => (bytes / 1_000_000).toFixed(1);
      checks.check(
        `${fn.constructPath}: code ${mb(size?.zipBytes)} MB zipped, ${mb(size?.unzippedBytes)} MB unzipped (limit 262.1 MB)`,
        size !== undefined && size.unzippedBytes <= LAMBDA_UNZIPPED_LIMIT_BYTES,
        size ?? 'not unpacked',
      );
    }
    const only = values.only;
    await emulationProbe(checks, workspace);
    if (!only || only === 'executor') {
      const { timings, isolation } = await executorScenarios(checks, workspace, executor, memoryMiB);
      process.stdout.write(`\nexecutor at ${memoryMiB} MB: ${isolation}\n${timingTable(timings)}\n\n`);
    }
    if (!only || only === 'broker') await brokerScenario(checks, workspace, broker);
    if (!only || only === 'digester') await digesterScenario(checks, workspace, digester);
  } finally {
    if (!values.keep) {
      workspace.remove();
      if (synthDir) rmSync(synthDir, { recursive: true, force: true });
    }
  }
  process.stdout.write(
    `\nlambda-runtime: ${checks.results.length - checks.failed} checks passed, ${checks.failed} failed\n`,
  );
  return checks.failed === 0 ? 0 : 1;
}

process.exitCode = await main();
