import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInputs, saveOutputs } from '../../../client/cli/files.ts';
import { allByteValues } from '../../support/binary-samples.ts';

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

  it('reads a file that is not UTF-8 as its bytes, and a UTF-8 one as text', () => {
    writeFileSync(join(dir, 'data', 'blob.bin'), allByteValues());
    const files = readInputs(['data/blob.bin', 'data/sales.csv'], dir);
    expect(files['blob.bin']).toEqual(allByteValues());
    expect(files['sales.csv']).toBe('a,b\n1,2\n');
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

  it('saves a binary file byte for byte from its base64', () => {
    const out = join(dir, 'binary');
    const blob = Buffer.from(allByteValues());
    saveOutputs(
      {
        'b.bin': {
          base64: blob.toString('base64'),
          mediaType: 'application/octet-stream',
          bytes: blob.length,
        },
      },
      out,
    );
    expect(readFileSync(join(out, 'b.bin')).equals(blob)).toBe(true);
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
