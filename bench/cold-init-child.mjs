// Cold start of the bundled executor, measured in a fresh Node process (bench only):
//   node cold-init-child.mjs <bundle dir>     (CUSTODY_RUNTIME_DIR names its runtime folder)
// Imports the bundle's handler, serves one JavaScript and then one Python execution, and prints one
// JSON line of timings (ms since this process started, as performance.now() counts).
import { performance } from 'node:perf_hooks';

const [bundleDir] = process.argv.slice(2);
const limits = { timeoutMs: 30_000, memoryMiB: 512, maxOutputBytes: 1024 * 1024 };
const atStart = performance.now();
const mod = await import(`${bundleDir}/index.mjs`);
const imported = performance.now();
const js = await mod.handler({
  executionId: 'cold-js',
  language: 'javascript',
  code: 'console.log(6 * 7)',
  limits,
});
const jsDone = performance.now();
const py = await mod.handler({ executionId: 'cold-py', language: 'python', code: 'print(6 * 7)', limits });
const pyDone = performance.now();
const ok = js.stdout === '42\n' && py.stdout === '42\n';
process.stdout.write(
  `COLD ${JSON.stringify({ ok, atStart, imported, jsDone, pyDone, jsStatus: js.status, pyStatus: py.status })}\n`,
);
await mod.closeExecutorSandbox?.();
process.exit(ok ? 0 : 1);
