/**
 * What the executor needs next to its bundle at run time, as the shell commands that a CDK
 * NodejsFunction runs in `commandHooks.afterBundling(inputDir, outputDir)`:
 *
 *   runtime/deno                the Deno binary that hosts each Python execution
 *   runtime/pyodide/...         Pyodide's runtime files (not the rest of its npm package)
 *   runtime/python-host.mjs     the Deno host script
 *   runtime/pyodide.snapshot    a Pyodide memory snapshot built now, so no cold start pays for it
 *   runtime/esbuild             the esbuild binary for the TypeScript transform
 *
 * QuickJS needs nothing: its single-file variant inlines the WebAssembly into the bundle.
 * The binaries are those node_modules holds for the building machine (linux x64 here): the
 * executor's architecture must match it.
 */
import { PYODIDE_RUNTIME_FILES, RUNTIME_LAYOUT } from '../sandbox/runtime-files.ts';

/** Quotes a path for sh. */
function q(path: string): string {
  return `'${path.replaceAll("'", "'\\''")}'`;
}

export function executorBundleCommands(inputDir: string, outputDir: string): string[] {
  const runtime = `${outputDir}/runtime`;
  const pyodide = `${runtime}/${RUNTIME_LAYOUT.pyodideDir}`;
  const deno = `${runtime}/${RUNTIME_LAYOUT.deno}`;
  const host = `${runtime}/${RUNTIME_LAYOUT.hostScript}`;
  const modules = `${inputDir}/node_modules`;
  return [
    `mkdir -p ${q(pyodide)}`,
    `cp ${q(`${modules}/deno/deno`)} ${q(deno)}`,
    ...PYODIDE_RUNTIME_FILES.map(
      (file) => `cp ${q(`${modules}/pyodide/${file}`)} ${q(`${pyodide}/${file}`)}`,
    ),
    `cp ${q(`${inputDir}/lambda/sandbox/python-host.mjs`)} ${q(host)}`,
    `cp ${q(`${modules}/@esbuild/linux-x64/bin/esbuild`)} ${q(`${runtime}/${RUNTIME_LAYOUT.esbuild}`)}`,
    `chmod 755 ${q(deno)} ${q(`${runtime}/${RUNTIME_LAYOUT.esbuild}`)}`,
    // The snapshot is made by the same host script, under the same (empty) permissions as a run.
    `(DENO_TMP="$(mktemp -d)" && env -i DENO_DIR="$DENO_TMP" NO_COLOR=1 ${q(deno)} run --no-prompt --no-config --no-lock --no-remote --no-npm --cached-only --allow-read=${q(`${pyodide},${host}`)} --deny-write --deny-net --deny-env --deny-run --deny-ffi --deny-sys --deny-import ${q(host)} snapshot ${q(pyodide)} > ${q(`${runtime}/${RUNTIME_LAYOUT.snapshot}`)}; STATUS=$?; rm -rf "$DENO_TMP"; exit $STATUS)`,
  ];
}
