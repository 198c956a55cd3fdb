import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveRuntimeFiles } from '../../lambda/sandbox/runtime-files.ts';

describe('resolveRuntimeFiles', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'custody-runtime-files-'));
    writeFileSync(join(dir, 'deno'), '');
    writeFileSync(join(dir, 'python-host.mjs'), '');
    mkdirSync(join(dir, 'pyodide'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds no Python packages in a runtime folder without them (a profile that bundles none)', () => {
    expect(resolveRuntimeFiles(dir).pythonPackagesDir).toBeUndefined();
  });

  it("finds the profile's Python packages the bundling put beside the runtime", () => {
    mkdirSync(join(dir, 'python-packages'));
    expect(resolveRuntimeFiles(dir).pythonPackagesDir).toBe(join(dir, 'python-packages'));
  });
});
