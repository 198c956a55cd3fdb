import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleJavaScriptPackages } from '../../../lib/bundling/js-packages.ts';
import { checkPackagesLoad } from '../../../lib/bundling/js-packages-load-check.ts';
import { PROJECT_ROOT } from '../synth.ts';
import { fixtureProject } from './js-package-fixtures.ts';

let root: string;
beforeAll(() => {
  root = fixtureProject({ 'needs-buffer': '1.0.0', 'guards-buffer': '1.0.0' });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('checkPackagesLoad', () => {
  it('refuses a package that uses a Node global it never imports, naming the profile, the package and the error', async () => {
    const packages = bundleJavaScriptPackages(['needs-buffer'], { profile: 'reports', projectRoot: root });
    await expect(checkPackagesLoad('reports', packages)).rejects.toThrow(
      /^profile "reports": JavaScript package "needs-buffer"@1\.0\.0 does not load in the sandbox \(ReferenceError: 'Buffer' is not defined\)/,
    );
  });

  it('accepts a package that only uses Buffer where there is one, and papaparse', async () => {
    const guarded = bundleJavaScriptPackages(['guards-buffer'], { profile: 'p', projectRoot: root });
    const papaparse = bundleJavaScriptPackages(['papaparse'], { profile: 'p', projectRoot: PROJECT_ROOT });
    await expect(checkPackagesLoad('p', [...guarded, ...papaparse])).resolves.toBeUndefined();
  });
});
