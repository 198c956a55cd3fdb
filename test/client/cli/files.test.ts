import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInputs, saveOutputs } from '../../../client/cli/files.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'custody-cli-files-'));
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'sales.csv'), 'a,b\n1,2\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--input', () => {
  it('names an input given as PATH after the file, and one given as NAME=PATH as told', () => {
    const files = readInputs(['data/sales.csv', 'renamed.csv=data/sales.csv'], dir);
    expect({ ...files }).toEqual({ 'sales.csv': 'a,b\n1,2\n', 'renamed.csv': 'a,b\n1,2\n' });
  });

  it('refuses two inputs with the same name, and a spec with an empty side', () => {
    expect(() => readInputs(['data/sales.csv', 'sales.csv=data/sales.csv'], dir)).toThrow(
      '--input: two inputs are named "sales.csv"',
    );
    expect(() => readInputs(['x='], dir)).toThrow('--input: "x=" must be NAME=PATH or PATH');
  });
});

describe('--output-dir', () => {
  it('saves each file under the directory, creating it and the sub-folders', () => {
    const out = join(dir, 'out');
    const written = saveOutputs({ 'report.txt': 'total 3\n', 'charts/a.svg': '<svg/>' }, out);
    expect(written).toEqual([join(out, 'report.txt'), join(out, 'charts', 'a.svg')]);
    expect(readFileSync(join(out, 'report.txt'), 'utf8')).toBe('total 3\n');
    expect(readFileSync(join(out, 'charts', 'a.svg'), 'utf8')).toBe('<svg/>');
  });

  it.each([['../escape.txt'], ['/etc/escape.txt'], ['a/../../escape.txt']])(
    'refuses %s, which would land outside the directory, and saves nothing',
    (name) => {
      const out = join(dir, 'refused');
      expect(() => saveOutputs({ 'first.txt': 'ok', [name]: 'x' }, out)).toThrow(
        `--output-dir: the run wrote a file named "${name}", which would land outside ${out}: no file saved`,
      );
      expect(existsSync(join(out, 'first.txt'))).toBe(false);
      expect(existsSync(join(dir, 'escape.txt'))).toBe(false);
    },
  );
});
