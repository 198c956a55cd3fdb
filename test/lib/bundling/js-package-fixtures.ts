/** A temporary project with the fixture packages of test/fixtures/js-packages installed. */
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../synth.ts';

const FIXTURES = join(PROJECT_ROOT, 'test/fixtures/js-packages');

/** A project with the fixture packages installed, and a lock file pinning `locked`. */
export function fixtureProject(locked: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'custody-js-packages-'));
  for (const name of ['needs-fs', 'needs-buffer', 'guards-buffer', 'tiny-csv', 'tiny-helper']) {
    cpSync(join(FIXTURES, name), join(root, 'node_modules', name), { recursive: true });
  }
  const packages = Object.fromEntries(
    Object.entries(locked).map(([name, version]) => [`node_modules/${name}`, { version }]),
  );
  writeFileSync(
    join(root, 'package-lock.json'),
    JSON.stringify({ name: 'team', lockfileVersion: 3, packages: { '': {}, ...packages } }),
  );
  return root;
}
