/**
 * `node [--import tsx] js-packages-cli.ts <base64url JSON>`: what a profile executor's
 * afterBundling hook runs for its JavaScript packages (`js-packages-asset.ts`). The JSON holds
 * `copies` ([from, to] pairs: the bundles and manifest, from the synth's cache into the asset),
 * `folder` (where they land) and `profile`. After copying, the folder is read as the executor reads
 * it (sha256 verified) and each package is loaded once in the sandbox (`js-packages-load-check.ts`).
 * A failure prints one line naming what is wrong and exits 1, which stops `cdk synth`.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { readPackageFolder } from '../../lambda/sandbox/js-package-folder.ts';
import { checkPackagesLoad } from './js-packages-load-check.ts';

interface CliOptions {
  readonly copies: readonly [string, string][];
  readonly folder: string;
  readonly profile: string;
}

try {
  const options = JSON.parse(Buffer.from(process.argv[2] ?? '', 'base64url').toString('utf8')) as CliOptions;
  if (
    !Array.isArray(options.copies) ||
    typeof options.folder !== 'string' ||
    typeof options.profile !== 'string'
  ) {
    throw new Error('js-packages-cli: expected {copies, folder, profile} as base64url JSON');
  }
  for (const [from, to] of options.copies) {
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
  }
  await checkPackagesLoad(options.profile, readPackageFolder(options.folder));
} catch (err) {
  process.stderr.write(`custody executor bundling: ${(err as Error).message}\n`);
  process.exit(1);
}
