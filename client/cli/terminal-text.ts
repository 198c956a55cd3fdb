/**
 * Text from audit records (a profile name, a purpose, a denial message, a user agent) is written by
 * whoever called the API, the stranger included. Printed raw, an ESC sequence in it can clear the
 * operator's screen, set the window title, write the clipboard (OSC 52), hide text, or start a new
 * line that forges a record. Every command that prints record text passes it through here.
 *
 * Each character a terminal acts on instead of showing is written as its `\uXXXX` escape: C0
 * controls, DEL, C1 controls (U+0080-U+009F, which some terminals read as CSI/OSC), the Unicode line
 * and paragraph separators, and the bidirectional overrides and isolates that reorder what is shown.
 * The `\uXXXX` form is also a valid JSON escape, so JSON output stays valid and means the same.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// The same, but newline and tab pass: for multi-line text whose fields were made printable already.
const UNSAFE_KEEPING_LINES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function unicodeEscape(ch: string): string {
  return `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;
}

/** One field on one line: every control character escaped, newlines included. */
export function printable(text: string): string {
  return text.replace(UNSAFE, unicodeEscape);
}

/** Multi-line text: control characters escaped, but `\n` and `\t` kept as they are. */
export function printableLines(text: string): string {
  return text.replace(UNSAFE_KEEPING_LINES, unicodeEscape);
}
