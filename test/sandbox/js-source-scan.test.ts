/** The text scan a session's JavaScript capture relies on (#15). */
import { describe, expect, it } from 'vitest';
import { bindingCandidates, topLevelMask } from '../../lambda/sandbox/js-source-scan.ts';

const atTop = (code: string, fragment: string) => topLevelMask(code)[code.indexOf(fragment)] === '0';

describe('JavaScript source scan', () => {
  it('lists every identifier-like word once, without reserved words', () => {
    expect(bindingCandidates('const { a, b: [c] } = f(d); let é = "str"; if (x) return this')).toEqual([
      'a',
      'b',
      'c',
      'f',
      'd',
      'é',
      'str',
      'x',
    ]);
  });

  it('tells a function written at the top level from one made inside another', () => {
    const code = 'const top = (x) => x; function make(n) { return (y) => y + n; }';
    expect(atTop(code, '(x) => x')).toBe(true);
    expect(atTop(code, 'function make')).toBe(true);
    expect(atTop(code, '(y) => y + n')).toBe(false);
  });

  it('is not fooled by brackets in strings, comments, templates and regular expressions', () => {
    const code =
      // biome-ignore lint/suspicious/noTemplateCurlyInString: JavaScript source under test
      'const s = "{("; // {\n/* { */ const t = `${ {a: 1}.a }{`; const r = /[{(]/g; const f = () => 1;';
    expect(atTop(code, '() => 1')).toBe(true);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: JavaScript source under test
    const nested = 'wrap(`${"}"}`, () => 2)';
    expect(atTop(nested, '() => 2')).toBe(false);
  });

  it('tells a division from a regular expression', () => {
    const code = 'const half = total / 2; const g = () => 3; const r = a / b / c;';
    expect(atTop(code, '() => 3')).toBe(true);
  });
});
