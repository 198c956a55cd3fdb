import { describe, expect, it } from 'vitest';
import { printable, printableLines } from '../../../client/cli/terminal-text.ts';

describe('printable', () => {
  it('escapes C0, DEL, C1, separators and bidi controls, and keeps ordinary text', () => {
    expect(printable('a\u001b[2Jb\u0007c\u007fd\u009be\u2028f\u202eg\nh')).toBe(
      'a\\u001b[2Jb\\u0007c\\u007fd\\u009be\\u2028f\\u202eg\\u000ah',
    );
    expect(printable('données ✓ 日本 \\ "x"')).toBe('données ✓ 日本 \\ "x"');
    expect(printableLines('one\ttwo\nthree\r\u001b')).toBe('one\ttwo\nthree\\u000d\\u001b');
  });
});
