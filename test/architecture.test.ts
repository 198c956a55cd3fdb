/**
 * The layout's rules (DESIGN.md "Layout"), read from the imports themselves: the hexagon holds
 * only if no file crosses it, so each rule is checked over every source file, and a file that
 * breaks one is named with the import that does.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const SOURCE_DIRS = ['bin', 'lib', 'lambda', 'client'];

interface Import {
  readonly file: string;
  /** Repository-relative path for a relative import, else the package name as written. */
  readonly target: string;
  readonly relative: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mjs)$/.test(e.name))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

const SPECIFIER =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): Import[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const found: Import[] = [];
  for (const match of text.matchAll(SPECIFIER)) {
    const spec = (match[1] ?? match[2]) as string;
    const isRelative = spec.startsWith('.');
    found.push({
      file,
      relative: isRelative,
      target: isRelative ? normalize(join(dirname(file), spec)) : spec,
    });
  }
  return found;
}

const ALL = SOURCE_DIRS.flatMap(sourceFiles).flatMap(importsOf);
const under = (folder: string) => (path: string) => path.startsWith(`${folder}/`);
const AWS_PACKAGES = /^(@aws-sdk\/|@smithy\/|aws-lambda$|@aws-lambda-powertools\/|aws-cdk-lib|constructs$)/;

/** The imports of files in `from` that break `rule`, as "file -> target" lines. */
function breaking(from: (path: string) => boolean, rule: (i: Import) => boolean): string[] {
  return ALL.filter((i) => from(i.file) && rule(i)).map((i) => `${i.file} -> ${i.target}`);
}

describe('The layout', () => {
  it('reads imports from every source folder', () => {
    // A guard for the rules below: they pass trivially if nothing is read.
    expect(ALL.filter((i) => i.file.startsWith('lambda/core/')).length).toBeGreaterThan(10);
    expect(ALL.filter((i) => i.file.startsWith('client/')).length).toBeGreaterThan(10);
  });

  it('keeps lambda/core free of AWS SDKs, Lambda types and every other folder', () => {
    expect(
      breaking(
        under('lambda/core'),
        (i) =>
          (!i.relative && AWS_PACKAGES.test(i.target)) || (i.relative && !under('lambda/core')(i.target)),
      ),
    ).toEqual([]);
  });

  it.each(['lambda/broker', 'lambda/sandbox', 'lambda/audit'])(
    'lets %s depend on lambda/core only, and on no AWS SDK',
    (folder) => {
      expect(
        breaking(
          under(folder),
          (i) =>
            (!i.relative && AWS_PACKAGES.test(i.target)) ||
            (i.relative && !under(folder)(i.target) && !under('lambda/core')(i.target)),
        ),
      ).toEqual([]);
    },
  );

  it('keeps the adapters apart from each other and from the composition roots', () => {
    expect(
      breaking(
        under('lambda/adapters/aws'),
        (i) => i.relative && (under('lambda/adapters/local')(i.target) || under('lambda/handlers')(i.target)),
      ),
    ).toEqual([]);
    expect(
      breaking(
        under('lambda/adapters/local'),
        (i) => i.relative && (under('lambda/adapters/aws')(i.target) || under('lambda/handlers')(i.target)),
      ),
    ).toEqual([]);
  });

  it('imports the composition roots only from the entry points', () => {
    expect(
      breaking(
        (path) => !under('bin')(path) && !under('lambda/handlers')(path) && !under('lib')(path),
        (i) => i.relative && under('lambda/handlers')(i.target),
      ),
    ).toEqual([]);
  });

  it('keeps the agents SDK (client/*.ts) free of the CLI, the MCP server and the Lambda code', () => {
    expect(
      breaking(
        (path) => under('client')(path) && dirname(path) === 'client',
        (i) =>
          i.relative &&
          (under('client/cli')(i.target) ||
            under('client/mcp')(i.target) ||
            (under('lambda')(i.target) && !under('lambda/core')(i.target))),
      ),
    ).toEqual([]);
  });

  it('lets the MCP server use the SDK, never the CLI', () => {
    expect(breaking(under('client/mcp'), (i) => i.relative && under('client/cli')(i.target))).toEqual([]);
  });
});
