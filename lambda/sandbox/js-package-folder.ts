/**
 * The folder of a profile's bundled JavaScript packages in its executor asset
 * (`runtime/js-packages/`): `manifest.json` lists each package's name, version, sha256 and file,
 * and each module is `<sha256>.js`. Written at synth (`lib/bundling/js-packages-asset.ts`), read
 * once when the executor starts; a file whose sha256 is not the manifest's stops the start.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JavaScriptPackage } from './quickjs-packages.ts';

export const PACKAGE_MANIFEST = 'manifest.json';

/** One line of the manifest: a package without its source. */
export interface PackageManifestEntry {
  readonly name: string;
  readonly version: string;
  readonly sha256: string;
  readonly file: string;
}

/** The manifest of `packages`, and the file each module is written to. */
export function packageManifest(packages: readonly JavaScriptPackage[]): PackageManifestEntry[] {
  return packages.map(({ name, version, sha256 }) => ({ name, version, sha256, file: `${sha256}.js` }));
}

/** The packages in `dir`, each verified against the manifest's sha256. */
export function readPackageFolder(dir: string): JavaScriptPackage[] {
  const manifest = JSON.parse(readFileSync(join(dir, PACKAGE_MANIFEST), 'utf8')) as PackageManifestEntry[];
  return manifest.map((entry) => {
    if (!/^[0-9a-f]{64}\.js$/.test(entry.file)) {
      throw new Error(`JavaScript package ${entry.name}: unexpected file name ${JSON.stringify(entry.file)}`);
    }
    const source = readFileSync(join(dir, entry.file), 'utf8');
    const sha256 = createHash('sha256').update(source, 'utf8').digest('hex');
    if (sha256 !== entry.sha256) {
      throw new Error(
        `JavaScript package ${entry.name}@${entry.version}: ${entry.file} has sha256 ${sha256}, not ${entry.sha256}`,
      );
    }
    return { name: entry.name, version: entry.version, sha256, source };
  });
}
