import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Language, SandboxResult } from '../../lambda/core/types.ts';
import { createSandbox } from '../../lambda/sandbox/index.ts';
import { PACKAGE_MANIFEST, packageManifest } from '../../lambda/sandbox/js-package-folder.ts';
import { hasModuleSyntax } from '../../lambda/sandbox/quickjs-packages.ts';
import { QuickJsSandbox } from '../../lambda/sandbox/quickjs-sandbox.ts';
import { RUNTIME_LAYOUT } from '../../lambda/sandbox/runtime-files.ts';
import { bundleJavaScriptPackages } from '../../lib/bundling/js-packages.ts';
import { PROJECT_ROOT } from '../lib/synth.ts';
import { LIMITS } from './helpers.ts';

const packages = bundleJavaScriptPackages(['papaparse'], { profile: 'sandbox', projectRoot: PROJECT_ROOT });
const sandbox = new QuickJsSandbox({ packages: { sandbox: packages, plain: [] } });
afterAll(() => sandbox.close());

const CSV = 'name,amount\\nalice,3\\nbob,4';

function run(language: Language, code: string, profile = 'sandbox'): Promise<SandboxResult> {
  return sandbox.run({ executionId: 'e-pkg', language, code, limits: LIMITS }, 0, { profile });
}
const errorOf = (r: SandboxResult) => (r.status === 'failed' ? r.error.message : `status ${r.status}`);
const resultOf = (r: SandboxResult) => (r.status === 'succeeded' ? r.result : `status ${r.status}`);

describe('QuickJS sandbox with bundled packages', () => {
  it('imports papaparse in JavaScript and parses a CSV, keeping the last expression as the result', async () => {
    const result = await run(
      'javascript',
      `import Papa from "papaparse";
       const parsed = Papa.parse("${CSV}", { header: true, dynamicTyping: true });
       console.log(parsed.data.length, 'rows');
       parsed.data.reduce((sum, row) => sum + row.amount, 0)`,
    );
    expect(result.stdout).toBe('2 rows\n');
    expect(resultOf(result)).toBe('7');
  });

  it('imports papaparse in TypeScript, named imports too', async () => {
    const result = await run(
      'typescript',
      `import { parse } from "papaparse";
       type Row = { name: string; amount: number };
       const rows: Row[] = parse<Row>("${CSV}", { header: true, dynamicTyping: true }).data;
       rows.map((r: Row) => r.name).join("+")`,
    );
    expect(resultOf(result)).toBe('"alice+bob"');
  });

  it('refuses `import "fs"` at run time, naming the profile and how to add a package', async () => {
    const result = await run('javascript', `import "fs";\n1`);
    expect(result.status).toBe('failed');
    expect(errorOf(result)).toContain('cannot import "fs": the sandbox has no Node built-ins');
    expect(errorOf(result)).toContain('profile "sandbox" bundles only papaparse');
    expect(errorOf(result)).toContain('"javascript": {"packages": ["papaparse", "NAME"]}');
  });

  it('refuses a package the profile does not bundle, and a relative path, and a URL', async () => {
    const unbundled = await run('typescript', `import _ from "lodash";\nconsole.log(_)`);
    expect(errorOf(unbundled)).toMatch(/^cannot import "lodash": it is not bundled; profile "sandbox"/);
    const relative = await run('javascript', `import x from "./helper.js";\nx`);
    expect(errorOf(relative)).toMatch(/^cannot import "\.\/helper\.js": there are no files to import from/);
    const url = await run('javascript', `import x from "https://esm.sh/lodash";\nx`);
    expect(errorOf(url)).toMatch(
      /^cannot import "https:\/\/esm\.sh\/lodash": nothing is fetched at run time/,
    );
  });

  it('gives a profile only its own packages', async () => {
    const result = await run('javascript', `import Papa from "papaparse";\nPapa`, 'plain');
    expect(errorOf(result)).toContain('profile "plain" bundles no JavaScript packages');
  });

  it('refuses a dynamic import with the same kind of message', async () => {
    const result = await run(
      'javascript',
      `Promise.all(["papaparse", "node:fs"].map((m) => import(m).then(() => "loaded", (e) => e.message)))`,
    );
    const [bundled, builtin] = JSON.parse(resultOf(result) ?? '[]') as string[];
    expect(bundled).toContain('use a static import at the top of the code');
    expect(builtin).toContain('cannot import "node:fs": the sandbox has no Node built-ins');
  });

  it('leaves code without imports as it was: a script, no require, no transform', async () => {
    const result = await run('javascript', 'typeof require + " " + typeof module');
    expect(resultOf(result)).toBe('"undefined undefined"');
  });

  it('tells import declarations from import() and import.meta', () => {
    expect(hasModuleSyntax('import Papa from "papaparse"')).toBe(true);
    expect(hasModuleSyntax('import {parse} from "papaparse"')).toBe(true);
    expect(hasModuleSyntax('x;import*as P from "p"')).toBe(true);
    expect(hasModuleSyntax("import 'fs'")).toBe(true);
    expect(hasModuleSyntax('export const a = 1')).toBe(true);
    expect(hasModuleSyntax('import("fs")')).toBe(false);
    expect(hasModuleSyntax('const important = 1; reimport(2); x.import(3); exported(4)')).toBe(false);
    expect(hasModuleSyntax('import.meta')).toBe(false);
  });
});

describe('an executor sandbox (createSandbox with its profile)', () => {
  it('reads its profile’s packages from the runtime folder and imports them by default', async () => {
    const runtime = mkdtempSync(join(tmpdir(), 'custody-runtime-'));
    const folder = join(runtime, RUNTIME_LAYOUT.javascriptPackages);
    mkdirSync(join(runtime, RUNTIME_LAYOUT.pyodideDir));
    for (const file of [RUNTIME_LAYOUT.deno, RUNTIME_LAYOUT.hostScript])
      writeFileSync(join(runtime, file), '');
    mkdirSync(folder);
    const manifest = packageManifest(packages);
    writeFileSync(join(folder, PACKAGE_MANIFEST), JSON.stringify(manifest));
    for (const [i, p] of packages.entries()) writeFileSync(join(folder, manifest[i]?.file ?? ''), p.source);
    const executor = createSandbox({ runtimeDir: runtime, profile: 'csv' });
    try {
      const result = await executor.run({
        executionId: 'e-exec',
        language: 'javascript',
        code: 'import { parse } from "papaparse";\nparse("x\\n1\\n2").data.length',
        limits: LIMITS,
      });
      expect(resultOf(result)).toBe('3');
    } finally {
      await executor.close();
      rmSync(runtime, { recursive: true, force: true });
    }
  });
});
