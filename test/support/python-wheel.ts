/**
 * Pure-Python wheels the tests build themselves (no PyPI, no Pyodide CDN): a stored (uncompressed)
 * zip with the package's modules and a dist-info, and the `pyodide-lock.json` entry that names it.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { PyodideLock, PyodideLockPackage } from '../../lib/bundling/pyodide-packages.ts';

/** A zip archive of `files` (name -> text), stored without compression. */
function zipOf(files: Readonly<Record<string, string>>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(files)) {
    const nameBytes = Buffer.from(name, 'utf8');
    const data = Buffer.from(text, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const centralBytes = centrals.reduce((sum, b) => sum + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(centralBytes, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

export interface TestWheel {
  readonly fileName: string;
  readonly bytes: Buffer;
  readonly entry: PyodideLockPackage;
}

/** A wheel of package `name` holding `modules` (path inside the wheel -> source). */
export function pureWheel(
  name: string,
  modules: Readonly<Record<string, string>>,
  options: {
    readonly version?: string;
    readonly depends?: readonly string[];
    readonly imports?: readonly string[];
  } = {},
): TestWheel {
  const version = options.version ?? '1.0.0';
  const dist = `${name.replace(/-/g, '_')}-${version}`;
  const fileName = `${dist}-py3-none-any.whl`;
  const bytes = zipOf({
    ...modules,
    [`${dist}.dist-info/METADATA`]: `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`,
    [`${dist}.dist-info/WHEEL`]:
      'Wheel-Version: 1.0\nGenerator: custody-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
    [`${dist}.dist-info/RECORD`]: '',
  });
  const imports = options.imports ?? [
    ...new Set(Object.keys(modules).map((path) => (path.split('/')[0] as string).replace(/\.py$/, ''))),
  ];
  return {
    fileName,
    bytes,
    entry: {
      name,
      version,
      file_name: fileName,
      install_dir: 'site',
      sha256: createHash('sha256').update(bytes).digest('hex'),
      imports,
      depends: options.depends ?? [],
      package_type: 'package',
      unvendored_tests: false,
    },
  };
}

/** A lock with the real one's `info` (Pyodide checks it) and only the test's packages. */
export function lockOf(info: PyodideLock['info'], wheels: readonly TestWheel[]): PyodideLock {
  return { info, packages: Object.fromEntries(wheels.map((w) => [w.entry.name, w.entry])) };
}
