/**
 * Hard-coded credential detection, custody's engine over two rule sets, used three ways: to refuse
 * a request that carries a credential in any field that is stored or run (step 3, reason
 * HARDCODED_CREDENTIAL), to redact what is stored of a refused request (the audit keeps a redacted
 * form), and to redact credential-shaped strings from output (step 8).
 *
 * Rules: secretlint's recommended preset (see secretlint-rules.ts: fixed-format tokens of about
 * twenty services, database URLs with a password, private keys) and custody's own below, which aim
 * at few false positives: fixed-format tokens by their documented shape; free-form secrets only when
 * a quoted literal of high entropy is assigned to a name that ENDS in password / secret / token /
 * api key (so `tokenizer = "bert-base"` or `password_hint` do not count).
 *
 * The scan also reads a folded view of the text (fold-literals.ts: escapes decoded, adjacent
 * literals joined), so `"\u0041KIA…"` or `'AKIA…' '…'` is found too. Every rule is a regular
 * expression without nested quantifiers, run once per view: time is linear in the text.
 */
import { createHash } from 'node:crypto';
import { foldLiterals } from './fold-literals.ts';
import { type RuleMatch, secretlintMatches } from './secretlint-rules.ts';

export interface CredentialFinding {
  /** Which rule matched, e.g. `aws-access-key-id`. Never the value. */
  readonly kind: string;
  /** 1-based line of the match. */
  readonly line: number;
}

interface Rule {
  readonly kind: string;
  /**
   * Global regex with named groups `pre` (kept on redaction, may be empty) and `value` (the
   * credential). The match ends where the value ends.
   */
  readonly regex: RegExp;
  /** Extra check on the captured value (and, for assignments, the name). */
  readonly accept?: (value: string, pre: string) => boolean;
}

/** Shannon entropy in bits per character. */
export function shannonEntropy(text: string): number {
  if (text.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

const PLACEHOLDER_HINTS = [
  'your',
  'example',
  'placeholder',
  'changeme',
  'change_me',
  'xxxx',
  'redacted',
  'dummy',
  'sample',
  '<',
  '>',
  '${',
  '{{',
  '%s',
  '...',
];

function looksLikePlaceholder(value: string): boolean {
  const lower = value.toLowerCase();
  if (PLACEHOLDER_HINTS.some((hint) => lower.includes(hint))) return true;
  return new Set(lower).size <= 2;
}

const PASSWORD_NAME = /(password|passwd|passphrase|pwd)["'`]?\s*(?::=|=>|:|=)\s*[rbuf]{0,2}["'`]$/i;

const RULES: readonly Rule[] = [
  {
    kind: 'aws-access-key-id',
    regex: /(?<pre>)(?<value>\b(?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Za-z0-9])/g,
  },
  {
    kind: 'aws-secret-access-key',
    regex:
      /(?<pre>(?:aws_?)?secret_?access_?key["'`]?\s*(?::=|=>|:|=|,)\s*[rbuf]{0,2}["'`]?)(?<value>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
  },
  {
    kind: 'private-key',
    regex:
      /(?<pre>)(?<value>-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[\s\S]*$))/g,
  },
  {
    kind: 'github-token',
    regex: /(?<pre>)(?<value>\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{60,}))(?![A-Za-z0-9_])/g,
  },
  {
    kind: 'slack-token',
    regex: /(?<pre>)(?<value>\bxox[abposr]-[A-Za-z0-9-]{10,})/g,
  },
  {
    kind: 'stripe-live-key',
    regex: /(?<pre>)(?<value>\b(?:sk|rk)_live_[A-Za-z0-9]{20,})/g,
  },
  {
    kind: 'google-api-key',
    regex: /(?<pre>)(?<value>\bAIza[0-9A-Za-z_-]{35})(?![0-9A-Za-z_-])/g,
  },
  {
    kind: 'jwt',
    regex: /(?<pre>)(?<value>\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})/g,
  },
  {
    kind: 'secret-assignment',
    // The name must END in one of the words; the value is a quoted literal without spaces.
    regex:
      /(?<pre>\b[A-Za-z0-9_]*?(?:password|passwd|passphrase|pwd|secret|secret_?key|token|api_?key|apikey|access_?key|private_?key|client_?secret)["'`]?\s*(?::=|=>|:|=)\s*[rbuf]{0,2}["'`])(?<value>[^"'`\s\\]{8,256})(?=["'`])/gi,
    accept(value, pre) {
      if (looksLikePlaceholder(value)) return false;
      const entropy = shannonEntropy(value);
      if (PASSWORD_NAME.test(pre)) return value.length >= 8 && entropy >= 3;
      return value.length >= 16 && entropy >= 3.5;
    },
  },
];

/** At most this many findings are reported per text (a refusal names the first few anyway). */
const MAX_FINDINGS = 100;

function custodyMatches(text: string): RuleMatch[] {
  const found: RuleMatch[] = [];
  for (const rule of RULES) {
    for (const match of text.matchAll(rule.regex)) {
      const value = match.groups?.value ?? '';
      const pre = match.groups?.pre ?? '';
      if (rule.accept && !rule.accept(value, pre)) continue;
      const start = (match.index ?? 0) + pre.length;
      found.push({ kind: rule.kind, start, end: start + value.length });
    }
  }
  return found;
}

/** Every credential-shaped range of `text`, from both rule sets. */
function credentialMatches(text: string): RuleMatch[] {
  return [...custodyMatches(text), ...secretlintMatches(text)];
}

/** 1-based lines of the findings, in one pass over the text. */
function withLines(text: string, matches: readonly RuleMatch[]): CredentialFinding[] {
  const sorted = [...matches].sort((a, b) => a.start - b.start).slice(0, MAX_FINDINGS);
  const out: CredentialFinding[] = [];
  let line = 1;
  let at = 0;
  for (const m of sorted) {
    for (let i = text.indexOf('\n', at); i !== -1 && i < m.start; i = text.indexOf('\n', i + 1)) {
      line++;
      at = i + 1;
    }
    out.push({ kind: m.kind, line });
  }
  return out;
}

/**
 * Every credential-shaped string in `text`, by kind and line (never the value): in the text as it
 * is, and in its folded view (escapes decoded, literals joined; lines are then the folded view's).
 */
export function scanForCredentials(text: string): CredentialFinding[] {
  const findings = withLines(text, credentialMatches(text));
  const folded = foldLiterals(text);
  if (folded !== text) {
    const seen = new Set(findings.map((f) => `${f.kind}:${f.line}`));
    for (const f of withLines(folded, credentialMatches(folded))) {
      if (!seen.has(`${f.kind}:${f.line}`)) findings.push(f);
    }
  }
  return findings.sort((a, b) => a.line - b.line).slice(0, MAX_FINDINGS);
}

/** Replaces each credential-shaped value with `[REDACTED:kind]`; returns the text and the count. */
export function redactCredentials(text: string): { text: string; count: number } {
  const matches = credentialMatches(text).sort((a, b) => a.start - b.start || b.end - a.end);
  if (matches.length === 0) return { text, count: 0 };
  const parts: string[] = [];
  let at = 0;
  let count = 0;
  for (const m of matches) {
    if (m.start < at) continue; // inside a range already redacted
    parts.push(text.slice(at, m.start), `[REDACTED:${m.kind}]`);
    at = m.end;
    count++;
  }
  parts.push(text.slice(at));
  return { text: parts.join(''), count };
}

/**
 * What may be stored of a caller's text field (a profile, a purpose, a file name, a user agent):
 * the text itself when it holds no credential; its credentials redacted when they can be located;
 * and when only the folded view shows one, a marker with the kinds and the field's sha256 instead.
 */
export function storableText(text: string): string {
  const redacted = redactCredentials(text).text;
  const left = scanForCredentials(redacted);
  if (left.length === 0) return redacted;
  const kinds = [...new Set(left.map((f) => f.kind))].join(',');
  return `[REDACTED:${kinds} sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}]`;
}
