import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../../lib/bundling/package-paths.ts';
import {
  bundlePythonPackages,
  defaultPackagesUrl,
  type PyodideLock,
  PythonPackageError,
  pyodideCacheDir,
  readPyodideLock,
  resolvePythonPackages,
} from '../../../lib/bundling/pyodide-packages.ts';
import { lockOf, pureWheel, type TestWheel } from '../../support/python-wheel.ts';

const real = readPyodideLock(join(PACKAGE_ROOT, 'node_modules', 'pyodide'));

const leaf = pureWheel('custody-leaf', { 'custody_leaf/__init__.py': 'VALUE = 7\n' });
const top = pureWheel(
  'custody-top',
  { 'custody_top/__init__.py': 'import custody_leaf\ndef answer():\n    return custody_leaf.VALUE * 6\n' },
  { depends: ['custody-leaf'] },
);
const lonely = pureWheel('custody-lonely', { 'custody_lonely.py': 'X = 1\n' });
const lock = lockOf(real.lock.info, [leaf, top, lonely]);

/** A loopback server for a folder of wheels; counts what it serves. */
async function serve(files: Map<string, Buffer>): Promise<{ server: Server; url: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '').replace(/^\/dist\//, ''));
    hits.push(name);
    const body = files.get(name);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/dist/`, hits };
}

function filesOf(wheels: readonly TestWheel[]): Map<string, Buffer> {
  return new Map(wheels.map((w) => [w.fileName, w.bytes]));
}

describe('resolvePythonPackages', () => {
  it('resolves a name with its dependencies, sorted', () => {
    expect(resolvePythonPackages(['custody-top'], lock, 'analysis').map((p) => p.name)).toEqual([
      'custody-leaf',
      'custody-top',
    ]);
  });

  it('resolves the real pandas with numpy, dateutil and pytz from the pinned lock', () => {
    const names = resolvePythonPackages(['pandas'], real.lock, 'analysis').map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['pandas', 'numpy', 'python-dateutil', 'pytz', 'six']));
  });

  it('refuses an unknown name with a PythonPackageError', () => {
    expect(() => resolvePythonPackages(['nope-not-here'], lock, 'p')).toThrow(PythonPackageError);
  });

  it('refuses an unknown name, naming the profile and the near names of the lock', () => {
    expect(() => resolvePythonPackages(['numpi', 'sklearn'], real.lock, 'analysis')).toThrow(
      /profile "analysis" names Python packages .*\n {2}"numpi": did you mean numpy.*\n {2}"sklearn": did you mean scikit-learn/,
    );
  });

  it('reads names as the lock spells them (case, _ and . as -)', () => {
    expect(resolvePythonPackages(['Custody_Lonely'], lock, 'p').map((p) => p.name)).toEqual([
      'custody-lonely',
    ]);
  });
});

describe('bundlePythonPackages', () => {
  let scratch: string;
  let cacheDir: string;
  let outDir: string;
  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'custody-pypkgs-'));
    cacheDir = join(scratch, 'cache');
    outDir = join(scratch, 'out');
  });
  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  let served: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    served = await serve(filesOf([leaf, top, lonely]));
  });
  afterAll(() => new Promise<void>((resolve) => served.server.close(() => resolve())));

  it('fetches, verifies and lays out the files with a lock naming only them', async () => {
    const bundled = await bundlePythonPackages({
      names: ['custody-top'],
      lock,
      profileName: 'analysis',
      baseUrl: served.url,
      cacheDir,
      outDir,
    });
    expect(bundled.map((p) => [p.name, p.bytes])).toEqual([
      ['custody-leaf', leaf.bytes.length],
      ['custody-top', top.bytes.length],
    ]);
    expect(readFileSync(join(outDir, top.fileName))).toEqual(top.bytes);
    const written = JSON.parse(readFileSync(join(outDir, 'pyodide-lock.json'), 'utf8')) as PyodideLock;
    expect(Object.keys(written.packages)).toEqual(['custody-leaf', 'custody-top']);
    expect(written.info).toEqual(real.lock.info);
  });

  it('stops at a tampered file, naming the package and both hashes, and bundles nothing', async () => {
    const tampered = Buffer.from(top.bytes);
    tampered.writeUInt8(tampered.readUInt8(tampered.length - 30) ^ 1, tampered.length - 30);
    const evil = await serve(new Map([...filesOf([leaf]), [top.fileName, tampered]]));
    try {
      const attempt = bundlePythonPackages({
        names: ['custody-top'],
        lock,
        profileName: 'analysis',
        baseUrl: evil.url,
        cacheDir,
        outDir,
      });
      await expect(attempt).rejects.toThrow(
        new RegExp(
          `custody-top .* of profile "analysis" .*sha256 [0-9a-f]{64}, the lock says ${top.entry.sha256}`,
        ),
      );
    } finally {
      await new Promise<void>((resolve) => evil.server.close(() => resolve()));
    }
    expect(() => readFileSync(join(outDir, 'pyodide-lock.json'))).toThrow();
  });

  it('works from the cache with the server gone, and fetches a corrupt cache entry again', async () => {
    const once = await serve(filesOf([lonely]));
    const options = {
      names: ['custody-lonely'],
      lock,
      profileName: 'p',
      baseUrl: once.url,
      cacheDir,
      outDir,
    };
    await bundlePythonPackages(options);
    await new Promise<void>((resolve) => once.server.close(() => resolve()));
    rmSync(outDir, { recursive: true });
    await bundlePythonPackages(options); // offline: from the cache
    expect(readFileSync(join(outDir, lonely.fileName))).toEqual(lonely.bytes);

    writeFileSync(join(cacheDir, lonely.fileName), 'corrupt');
    const before = served.hits.length;
    await bundlePythonPackages({ ...options, baseUrl: served.url });
    expect(served.hits.slice(before)).toEqual([lonely.fileName]);
    expect(readFileSync(join(cacheDir, lonely.fileName))).toEqual(lonely.bytes);
  });

  it('refuses a corrupt cache entry when the source is unreachable, naming the URL and the override', async () => {
    const gone = await serve(new Map());
    await new Promise<void>((resolve) => gone.server.close(() => resolve()));
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(join(cacheDir, lonely.fileName), 'corrupt');
    await expect(
      bundlePythonPackages({
        names: ['custody-lonely'],
        lock,
        profileName: 'p',
        baseUrl: gone.url,
        cacheDir,
        outDir,
      }),
    ).rejects.toThrow(
      new RegExp(
        `could not fetch the Python package custody-lonely of profile "p" from ${gone.url}${lonely.fileName}.*-c pyodidePackagesUrl=URL`,
      ),
    );
  });

  it('takes the files from a file:// folder', async () => {
    const folder = join(scratch, 'mirror');
    mkdirSync(folder);
    writeFileSync(join(folder, lonely.fileName), lonely.bytes);
    await bundlePythonPackages({
      names: ['custody-lonely'],
      lock,
      profileName: 'p',
      baseUrl: pathToFileURL(folder).href,
      cacheDir,
      outDir,
    });
    expect(readFileSync(join(outDir, lonely.fileName))).toEqual(lonely.bytes);
  });

  it("refuses a set over Lambda's unzipped limit, saying what each package costs", async () => {
    await expect(
      bundlePythonPackages({
        names: ['custody-top'],
        lock,
        profileName: 'analysis',
        baseUrl: served.url,
        cacheDir,
        outDir,
        otherAssetBytes: 1000,
        limitBytes: 1000 + top.bytes.length,
      }),
    ).rejects.toThrow(
      /profile "analysis" would be .* over Lambda's .*\n {2}custody-top 1\.0\.0: .* MiB\n {2}custody-leaf 1\.0\.0/,
    );
  });
});

describe('defaults', () => {
  it('fetch from the jsDelivr distribution of the pinned version, cache under CUSTODY_CACHE_DIR', () => {
    expect(defaultPackagesUrl(real.version)).toBe(`https://cdn.jsdelivr.net/pyodide/v${real.version}/full/`);
    expect(pyodideCacheDir('314.0.7', { CUSTODY_CACHE_DIR: '/c' })).toBe('/c/pyodide/314.0.7');
    expect(pyodideCacheDir('314.0.7', { HOME: '/h', XDG_CACHE_HOME: '/x' })).toBe(
      '/x/custody/pyodide/314.0.7',
    );
  });
});
