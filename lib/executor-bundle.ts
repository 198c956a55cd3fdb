/**
 * What ships next to the executor's bundle: the runtimes the sandboxes start (the deno binary
 * and the Pyodide distribution), under `<bundle>/runtime/`.
 *
 * Used until `lambda/executor/bundle-files.ts` (owned by the sandbox work) provides the
 * executor's own list; the construct then uses that one.
 */
export function fallbackExecutorBundleCommands(inputDir: string, outputDir: string): string[] {
  const runtime = `${outputDir}/runtime`;
  return [
    `mkdir -p "${runtime}"`,
    `cp "${inputDir}/node_modules/deno/deno" "${runtime}/deno"`,
    `chmod 755 "${runtime}/deno"`,
    `cp -R "${inputDir}/node_modules/pyodide" "${runtime}/pyodide"`,
  ];
}
