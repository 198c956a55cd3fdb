/**
 * Puts a profile's JavaScript package bundles (`js-packages.ts`) into that profile's executor
 * asset only, as `runtime/js-packages/` (`lambda/sandbox/js-package-folder.ts`).
 *
 * The bundles are made in this process at synth; the files are kept, by sha256, in a cache folder
 * (`node_modules/.cache/custody-js-packages` of the project), and the afterBundling hook copies
 * the profile's into the asset, verifies them and loads each once in the sandbox, with one `node`
 * command, the same in sh and cmd (`js-packages-cli.ts`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Profile } from '../../lambda/core/policy.ts';
import { PACKAGE_MANIFEST, packageManifest } from '../../lambda/sandbox/js-package-folder.ts';
import type { JavaScriptPackage } from '../../lambda/sandbox/quickjs-packages.ts';
import { RUNTIME_LAYOUT } from '../../lambda/sandbox/runtime-files.ts';
import { quotedHookArg } from './hook-arg.ts';
import { bundleJavaScriptPackages, findProjectRoot, JavaScriptPackageError } from './js-packages.ts';
import { MODULE_EXTENSION } from './package-paths.ts';

/** The script the hook runs with node: copies, verifies and load-checks (`js-packages-cli.ts`). */
const CLI_SCRIPT = fileURLToPath(new URL(`./js-packages-cli${MODULE_EXTENSION}`, import.meta.url));

const quoted = (path: string): string =>
  quotedHookArg(path, (message) => new JavaScriptPackageError(message));

/** A profile's JavaScript packages as its executor asset holds them. */
export interface ProfileJavaScriptPackages {
  /** Name, version and sha256 of each bundle (what the asset's manifest records). */
  readonly manifest: readonly { readonly name: string; readonly version: string; readonly sha256: string }[];
  /** The afterBundling commands that copy the bundles into the asset at `outputDir`. */
  commands(outputDir: string): string[];
  /** What the asset hash adds for them (`executorAssetHash`'s `extra`). */
  readonly hashInput: string;
}

/**
 * Bundles the profile's JavaScript packages now (a package that cannot be bundled stops synth,
 * naming it) from the project at `projectRoot` (@default the nearest package-lock.json above the
 * working directory, as the CDK finds a project).
 */
export function profileJavaScriptPackages(
  profileName: string,
  profile: Pick<Profile, 'javascript'>,
  projectRoot?: string,
): ProfileJavaScriptPackages {
  const names = profile.javascript.packages;
  const root = names.length > 0 ? (projectRoot ?? findProjectRoot()) : '';
  const packages = bundleJavaScriptPackages(names, { profile: profileName, projectRoot: root });
  return {
    manifest: packageManifest(packages).map(({ name, version, sha256 }) => ({ name, version, sha256 })),
    commands: (outputDir) =>
      javascriptPackageCommands(
        profileName,
        outputDir,
        packages,
        join(root, 'node_modules', '.cache', 'custody-js-packages'),
      ),
    hashInput: javascriptPackagesHashInput(packages),
  };
}

/**
 * The afterBundling commands that put `packages` into the asset at `outputDir` (none without
 * packages). The files are written to `cacheDir` now.
 */
function javascriptPackageCommands(
  profile: string,
  outputDir: string,
  packages: readonly JavaScriptPackage[],
  cacheDir: string,
): string[] {
  if (packages.length === 0) return [];
  mkdirSync(cacheDir, { recursive: true });
  const manifest = packageManifest(packages);
  const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
  const target = join(outputDir, 'runtime', RUNTIME_LAYOUT.javascriptPackages);
  const copies: [string, string][] = [];
  packages.forEach((pkg, i) => {
    const file = manifest[i]?.file ?? `${pkg.sha256}.js`;
    writeFileSync(join(cacheDir, file), pkg.source);
    copies.push([join(cacheDir, file), join(target, file)]);
  });
  const manifestFile = join(
    cacheDir,
    `manifest-${packages.map((p) => p.sha256.slice(0, 16)).join('-')}.json`,
  );
  writeFileSync(manifestFile, manifestText);
  copies.push([manifestFile, join(target, PACKAGE_MANIFEST)]);
  // From the sources, tsx loads the TypeScript; the installed package runs its emitted JavaScript.
  const loader =
    MODULE_EXTENSION === '.ts'
      ? `--import ${quoted(pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href)} `
      : '';
  const argument = Buffer.from(JSON.stringify({ copies, folder: target, profile })).toString('base64url');
  const command = `${quoted(process.execPath)} ${loader}${quoted(CLI_SCRIPT)} ${argument}`;
  // As executorBundleCommands: `cmd /c` strips a line's first and last quote.
  return [process.platform === 'win32' ? `"${command}"` : command];
}

/** What the executor asset's hash adds for the packages (empty without any, so such a hash is unchanged). */
function javascriptPackagesHashInput(packages: readonly JavaScriptPackage[]): string {
  return packages.length === 0 ? '' : JSON.stringify({ javascriptPackages: packageManifest(packages) });
}
