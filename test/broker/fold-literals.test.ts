import { describe, expect, it } from 'vitest';
import { foldLiterals } from '../../lambda/broker/fold-literals.ts';

describe('foldLiterals', () => {
  it.each([
    ['a JavaScript \\u escape', String.raw`k = "\u0041B\u{43}D"`, 'k = "ABCD"'],
    ['a \\x escape', String.raw`k = '\x41BCD'`, "k = 'ABCD'"],
    ['a Python \\U escape', String.raw`k = "\U00000041BCD"`, 'k = "ABCD"'],
    ["Python's implicit concatenation", `k = 'AB' 'CD'`, "k = 'ABCD'"],
    ['a + between literals, across lines', `k = "AB" +\n  "CD"`, 'k = "ABCD"'],
    ['a line continuation between literals', `k = 'AB' \\\n 'CD'`, "k = 'ABCD'"],
    ['a line continuation inside a literal', `k = 'AB\\\nCD'`, "k = 'ABCD'"],
    ['Python string prefixes', `k = "AB" r"CD" b'EF'`, `k = "ABCDEF'`],
    ['an empty template interpolation', `k = \`AB$\{""}CD$\{''}EF\``, 'k = `ABCDEF`'],
    ['a literal template interpolation', `k = \`AB$\{'CD'}EF\``, 'k = `ABCDEF`'],
    ['mixed quotes', `k = 'AB' + "CD" + \`EF\``, "k = 'ABCDEF`"],
  ])('joins %s', (_label, code, folded) => {
    expect(foldLiterals(code)).toBe(folded);
  });

  it('leaves code without escapes or adjacent literals as it is', () => {
    const code = 'x = f("a", "b")\nprint(x + y)\n';
    expect(foldLiterals(code)).toBe(code);
  });

  it('leaves an escape for a code point beyond Unicode as it was', () => {
    expect(foldLiterals(String.raw`"\u{110000}"`)).toBe(String.raw`"\u{110000}"`);
  });
});
