import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  lockFileOf,
  MODULE_EXTENSION,
  PACKAGE_ROOT,
  packageFile,
} from '../../../lib/bundling/package-paths.ts';

// The emitted layout (dist/, .js) is proven by `npm run test:package` on the packed tarball.
describe('package paths, run from the sources', () => {
  const checkout = path.resolve(import.meta.dirname, '../../..');

  it('finds the package root from the module, not the working directory', () => {
    expect(MODULE_EXTENSION).toBe('.ts');
    expect(PACKAGE_ROOT).toBe(checkout);
    expect(JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')).name).toBe('custody');
  });

  it('resolves the Lambda entries and the lock file in the checkout', () => {
    expect(packageFile('lambda/handlers/broker.ts')).toBe(path.join(checkout, 'lambda/handlers/broker.ts'));
    expect(packageFile('lambda/sandbox/python-host.mjs', '/elsewhere')).toBe(
      '/elsewhere/lambda/sandbox/python-host.mjs',
    );
    expect(lockFileOf()).toBe(path.join(checkout, 'package-lock.json'));
  });
});
