/**
 * What a session's JavaScript capture needs to know of the code's text (#15), without a parser:
 * - `bindingCandidates`: every identifier-like word of the code (an over-approximation of its
 *   top-level names: a word that is not a global binding is simply not found at capture);
 * - `topLevelMask`: for each character, whether it stands outside every bracket, string, comment
 *   and template, so a function whose source starts there was written at the top level (its free
 *   variables are globals) and not made inside another function (a closure, whose captured
 *   variables cannot be carried by source).
 */

/** Words that cannot name a binding (looking them up would mean something else). */
const RESERVED = new Set(
  (
    'await break case catch class const continue debugger default delete do else enum export extends ' +
    'false finally for function if import in instanceof new null return super switch this throw true ' +
    'try typeof var void while with yield let static implements interface package private protected ' +
    'public arguments eval undefined NaN Infinity globalThis'
  ).split(' '),
);

/** At most this many distinct words are looked up at capture. */
const MAX_CANDIDATES = 20_000;

/** Identifier-like words of `code`, distinct, in order of first appearance, minus reserved words. */
export function bindingCandidates(code: string): string[] {
  const found = new Set<string>();
  for (const match of code.matchAll(/[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*/gu)) {
    const word = match[0];
    if (RESERVED.has(word) || found.has(word)) continue;
    found.add(word);
    if (found.size >= MAX_CANDIDATES) break;
  }
  return [...found];
}

/** After these, a `/` starts a regular expression, not a division. */
const BEFORE_REGEX =
  /[(,=:[!&|?{};+\-*%<>~^]$|(?:^|[^\w$])(?:return|typeof|case|do|else|in|of|new|delete|void|throw|yield|await)$/;

/**
 * A string as long as `code`: `0` where the character is at the top level (outside brackets,
 * strings, comments, templates and regular expressions), `1` elsewhere. A heuristic (a regular
 * expression is told from a division by the token before it); a mistake makes a function look
 * nested, so it is dropped (named), never carried wrongly.
 */
export function topLevelMask(code: string): string {
  const mask = new Uint8Array(code.length).fill(49); // '1'
  let depth = 0;
  /** Depth at which each open template's `${` started. */
  const templates: number[] = [];
  let last = '';
  let i = 0;
  const n = code.length;
  const skipQuoted = (quote: string) => {
    i += 1;
    while (i < n && code[i] !== quote && code[i] !== '\n') i += code[i] === '\\' ? 2 : 1;
    i += 1;
  };
  const skipTemplate = () => {
    // from just after a backtick or a closing `}` of `${`, to the closing backtick or a `${`
    while (i < n) {
      const c = code[i];
      if (c === '\\') i += 2;
      else if (c === '`') {
        i += 1;
        return;
      } else if (c === '$' && code[i + 1] === '{') {
        i += 2;
        templates.push(depth);
        depth += 1;
        return;
      } else i += 1;
    }
  };
  while (i < n) {
    const c = code[i] as string;
    if (depth === 0) mask[i] = 48; // '0'
    if (c === '/' && code[i + 1] === '/') {
      while (i < n && code[i] !== '\n') i += 1;
    } else if (c === '/' && code[i + 1] === '*') {
      const end = code.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === '"' || c === "'") {
      skipQuoted(c);
      last = 'x';
    } else if (c === '`') {
      i += 1;
      skipTemplate();
      last = 'x';
    } else if (c === '/' && (last === '' || BEFORE_REGEX.test(last.trimEnd()))) {
      i += 1;
      let inClass = false;
      while (i < n && code[i] !== '\n' && (inClass || code[i] !== '/')) {
        if (code[i] === '\\') i += 1;
        else if (code[i] === '[') inClass = true;
        else if (code[i] === ']') inClass = false;
        i += 1;
      }
      i += 1;
      last = 'x';
    } else if (c === '(' || c === '[' || c === '{') {
      depth += 1;
      i += 1;
      last = c;
    } else if (c === ')' || c === ']' || c === '}') {
      depth = Math.max(0, depth - 1);
      i += 1;
      if (c === '}' && templates.length > 0 && templates[templates.length - 1] === depth) {
        templates.pop();
        skipTemplate();
        last = 'x';
      } else last = c;
    } else {
      if (!/\s/.test(c)) last = /[\w$]/.test(c) ? (last + c).slice(-8) : c;
      else if (/[\w$]$/.test(last)) last += ' ';
      i += 1;
    }
  }
  return new TextDecoder().decode(mask);
}
