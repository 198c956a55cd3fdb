import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleJavaScriptPackages, findProjectRoot } from '../../../lib/bundling/js-packages.ts';
import { PROJECT_ROOT } from '../synth.ts';
import { fixtureProject } from './js-package-fixtures.ts';

let root: string;
beforeAll(() => {
  root = fixtureProject({ 'needs-fs': '1.0.0', 'tiny-csv': '2.1.0', 'tiny-helper': '0.3.0' });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('bundleJavaScriptPackages', () => {
  it('bundles papaparse from the project lock file, with its version and sha256', () => {
    const [papaparse] = bundleJavaScriptPackages(['papaparse'], {
      profile: 'sandbox',
      projectRoot: PROJECT_ROOT,
    });
    const lock = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package-lock.json'), 'utf8'));
    expect(papaparse?.name).toBe('papaparse');
    expect(papaparse?.version).toBe(lock.packages['node_modules/papaparse'].version);
    expect(papaparse?.sha256).toBe(
      createHash('sha256')
        .update(papaparse?.source ?? '')
        .digest('hex'),
    );
    // The browser build: papaparse's main file requires `stream` for Node streams.
    expect(papaparse?.source).not.toMatch(/require\(["']stream["']\)/);
    expect(papaparse?.source).toContain('module.exports');
  });

  it('inlines a package’s own dependencies into one self-contained module', () => {
    const [csv] = bundleJavaScriptPackages(['tiny-csv'], { profile: 'p', projectRoot: root });
    expect(csv).toMatchObject({ name: 'tiny-csv', version: '2.1.0' });
    expect(csv?.source).toContain('s.trim()');
    expect(csv?.source).not.toMatch(/require\(["']tiny-helper["']\)/);
  });

  it('refuses a package that needs a Node built-in, naming the package, the built-in and the file', () => {
    expect(() => bundleJavaScriptPackages(['needs-fs'], { profile: 'reports', projectRoot: root })).toThrow(
      /profile "reports": JavaScript package "needs-fs" needs the Node built-in "fs" \(imported by node_modules\/needs-fs\/index\.js\)/,
    );
  });

  it('refuses a package that is not in the lock file, saying how to add it', () => {
    const partial = fixtureProject({ 'tiny-helper': '0.3.0' });
    try {
      expect(() => bundleJavaScriptPackages(['tiny-csv'], { profile: 'p', projectRoot: partial })).toThrow(
        /JavaScript package "tiny-csv" is not in .*package-lock\.json; add it to the project with `npm i tiny-csv`/,
      );
    } finally {
      rmSync(partial, { recursive: true, force: true });
    }
  });

  it('refuses a package whose installed version is not the one the lock pins', () => {
    const stale = fixtureProject({ 'tiny-csv': '2.2.0', 'tiny-helper': '0.3.0' });
    try {
      expect(() => bundleJavaScriptPackages(['tiny-csv'], { profile: 'p', projectRoot: stale })).toThrow(
        /package-lock\.json pins 2\.2\.0 but node_modules holds 2\.1\.0; run `npm ci`/,
      );
    } finally {
      rmSync(stale, { recursive: true, force: true });
    }
  });

  it('finds the project through the nearest package-lock.json above a folder', () => {
    const nested = join(root, 'infra', 'app');
    mkdirSync(nested, { recursive: true });
    expect(findProjectRoot(nested)).toBe(root);
  });
});
