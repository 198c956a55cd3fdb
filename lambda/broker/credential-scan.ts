/**
 * Hard-coded credential detection, used twice: to refuse code that carries a credential (step 3,
 * reason HARDCODED_CREDENTIAL) and to redact credential-shaped strings from output (step 8).
 *
 * Rules aim at few false positives: fixed-format tokens are matched by their documented shape;
 * free-form secrets only when a quoted literal of high entropy is assigned to a name that ENDS in
 * password / secret / token / api key (so `tokenizer = "bert-base"` or `password_hint` do not count).
 */

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

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** Every credential-shaped string in `text`, by kind and line (never the value). */
export function scanForCredentials(text: string): CredentialFinding[] {
  const findings: CredentialFinding[] = [];
  for (const rule of RULES) {
    for (const match of text.matchAll(rule.regex)) {
      const value = match.groups?.value ?? '';
      const pre = match.groups?.pre ?? '';
      if (rule.accept && !rule.accept(value, pre)) continue;
      findings.push({ kind: rule.kind, line: lineOf(text, (match.index ?? 0) + pre.length) });
    }
  }
  return findings.sort((a, b) => a.line - b.line);
}

/** Replaces each credential-shaped value with `[REDACTED:kind]`; returns the text and the count. */
export function redactCredentials(text: string): { text: string; count: number } {
  let count = 0;
  let out = text;
  for (const rule of RULES) {
    out = out.replace(rule.regex, (...args: unknown[]) => {
      const groups = args.at(-1) as { pre?: string; value?: string };
      const whole = args[0] as string;
      const pre = groups.pre ?? '';
      const value = groups.value ?? '';
      if (rule.accept && !rule.accept(value, pre)) return whole;
      count++;
      return `${pre}[REDACTED:${rule.kind}]`;
    });
  }
  return { text: out, count };
}
