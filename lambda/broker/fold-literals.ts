/**
 * A second view of code for the credential scan: string escapes decoded and adjacent literals joined,
 * so that `"\u0041KIA…"`, Python's implicit `'AKIA…' '…'`, `'AKIA…' + '…'`, a backslash-newline
 * continuation and a template's `${""}` or `${'x'}` read as the credential they spell.
 *
 * Not a parser: it works on the whole text without knowing where literals start, so it can join
 * things that are not literals (`f('a') + ('b')` stays apart, `x = '' ; y = ''` loses its quotes).
 * That only ever makes the scan see more, never less, of what the original holds. Every step is one
 * left-to-right regular-expression pass whose alternatives start with distinct characters: linear.
 * Left out (a residual risk, documented in docs/controls.md C8): values computed at run time
 * (`atob`, `String.fromCharCode`, `chr()`, `bytes.fromhex`, a variable between two literals).
 */

const ESCAPE = /\\(?:u\{([0-9a-fA-F]{1,6})\}|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|x([0-9a-fA-F]{2})|\r?\n)/g;
// A template interpolation of a literal: `${""}`, `${'x'}`, `${`y`}`.
const LITERAL_INTERPOLATION = /\$\{\s*(["'`])([^"'`\\\n$]{0,256})\1\s*\}/g;
// A closing quote, then only blanks, `+` or a line continuation, then an opening quote (with
// Python's string prefixes): the two literals are one string.
// A prefix needs a blank or `+` before it, so `f("a", "b")` keeps its `"b"`.
const JOINT = /["'`](?:(?:[ \t\r\n+]|\\\r?\n)+[rRbBuUfF]{1,2}|(?:[ \t\r\n+]|\\\r?\n)*)["'`]/g;

function decode(whole: string, braced?: string, u4?: string, u8?: string, x2?: string): string {
  const hex = braced ?? u4 ?? u8 ?? x2;
  if (hex === undefined) return ''; // a line continuation
  const code = Number.parseInt(hex, 16);
  return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
}

/** `text` with escapes decoded and adjacent string literals joined (see above). */
export function foldLiterals(text: string): string {
  return text
    .replace(ESCAPE, decode)
    .replace(LITERAL_INTERPOLATION, (_whole, _quote: string, inner: string) => inner)
    .replace(JOINT, '');
}
