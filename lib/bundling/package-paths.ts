/**
 * Where custody's own files are, resolved from this module's location, never from the working
 * directory: the same code runs from its TypeScript sources (a checkout: tsx, vitest, `cdk synth`
 * here) and from the JavaScript `npm run build` emits into `dist/` (the installed package, in a
 * team's node_modules). Each layout keeps `lib/`, `lambda/` and a copy of the lock file side by side:
 *
 *   checkout            <root>/lib/..., <root>/lambda/....ts, <root>/package-lock.json
 *   installed package   <root>/dist/lib/..., <root>/dist/lambda/....js, <root>/dist/package-lock.json
 *
 * (npm never packs a root package-lock.json, so the build copies it into dist/.)
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';

/** The folder `tsconfig.build.json` emits into (its `outDir`). */
const EMIT_DIR = 'dist';

/** `.ts` when running from the sources, `.js` when running from the emitted package. */
export const MODULE_EXTENSION: '.ts' | '.js' = import.meta.filename.endsWith('.ts') ? '.ts' : '.js';

/** The folder holding `lib/` and `lambda/` as they run (this file is `lib/bundling/package-paths.*`). */
const SOURCE_ROOT = path.resolve(import.meta.dirname, '..', '..');

/**
 * The package's root: the folder with its package.json (the checkout, or node_modules/custody).
 * The Lambda functions' entries and lock file are under it, as the CDK requires of `projectRoot`.
 */
export const PACKAGE_ROOT = MODULE_EXTENSION === '.ts' ? SOURCE_ROOT : path.resolve(SOURCE_ROOT, '..');

if (!existsSync(path.join(PACKAGE_ROOT, 'package.json'))) {
  throw new Error(`custody: expected its package.json in ${PACKAGE_ROOT}; the package's files were moved`);
}

/**
 * A file of custody's sources as it runs, given by its path in the checkout (`lambda/handlers/broker.ts`):
 * relative to `root` (default: this package's root), with `.ts` read as `.js` when running emitted.
 */
export function packageFile(relativePath: string, root: string = PACKAGE_ROOT): string {
  const emitted = MODULE_EXTENSION === '.js';
  const file = emitted ? relativePath.replace(/\.ts$/, '.js') : relativePath;
  return emitted ? path.join(root, EMIT_DIR, file) : path.join(root, file);
}

/** The lock file that pins the executor's native binaries and every bundled package. */
export function lockFileOf(root: string = PACKAGE_ROOT): string {
  return packageFile('package-lock.json', root);
}
