/**
 * Step 8 of an execution: nothing the sandbox produced leaves custody (response, audit, logs)
 * before every injected secret value, its common encodings, and every credential-shaped string
 * are redacted. Then the sealed output is hashed, so the audit record can prove what was returned.
 *
 * A binary output file cannot be redacted in place (cutting bytes out of a PNG breaks it, and a
 * marker of another length shifts every offset). Its bytes are searched for the same secret forms
 * and credential patterns; a file holding one is withheld whole: the answer carries the text
 * `[REDACTED:<label>] …` in its place, and the redaction is counted. What no scan can find (a
 * secret compressed, encrypted or otherwise transformed by the code) is out of reach for binary
 * files exactly as it is for text.
 */

import type { AuditFile } from '../core/audit-record.ts';
import { canonicalJson, sha256Hex } from '../core/canonical-json.ts';
import { type FileValue, fileMap } from '../core/file-map.ts';
import { type AnswerFileValue, answerFileOf } from '../core/file-wire.ts';
import type { SandboxResult, SandboxStatus, UserCodeError } from '../core/types.ts';
import { auditFiles } from './audit-records.ts';
import { redactCredentials } from './credential-scan.ts';

/** A value that must never appear in output, labelled by the variable it was injected as. */
export interface SecretValue {
  readonly label: string;
  readonly value: string;
}

/** The output as the caller receives it, after redaction. */
interface SealedOutput {
  readonly status: SandboxStatus;
  readonly stdout: string;
  readonly stderr: string;
  readonly result?: string;
  readonly error?: UserCodeError;
  /** Text files as text; the rest as `{ base64, mediaType, bytes }` (the answer's form). */
  readonly files: Record<string, AnswerFileValue>;
  readonly truncated: boolean;
}

/**
 * base64 of `bytes` when it sits at byte offset 0, 1 or 2 of a longer encoded string: the
 * characters that depend only on `bytes` (the ones a prefix or suffix cannot change).
 */
function base64AtOffsets(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
    const encoded = padded.toString('base64');
    const start = Math.ceil((offset * 8) / 6);
    const end = Math.floor((padded.length * 8) / 6);
    const core = encoded.slice(start, end);
    if (core.length >= 6) {
      out.push(core);
      out.push(core.replaceAll('+', '-').replaceAll('/', '_'));
    }
  }
  return out;
}

/** The forms a secret value is commonly printed in. Longest first; no duplicates. */
export function secretVariants(value: string): string[] {
  if (value.length === 0) return [];
  const bytes = Buffer.from(value, 'utf8');
  const variants = new Set<string>([value]);
  const base64 = bytes.toString('base64');
  variants.add(base64);
  variants.add(base64.replace(/=+$/, ''));
  variants.add(bytes.toString('base64url'));
  for (const core of base64AtOffsets(bytes)) variants.add(core);
  const hex = bytes.toString('hex');
  variants.add(hex);
  variants.add(hex.toUpperCase());
  variants.add(encodeURIComponent(value));
  variants.add(encodeURIComponent(value).replaceAll('%20', '+'));
  variants.add(JSON.stringify(value).slice(1, -1));
  if (value.length >= 6) variants.add([...value].reverse().join(''));
  return [...variants].filter((v) => v.length > 0).sort((a, b) => b.length - a.length);
}

/** Redacts secret values (every variant) then credential patterns, counting replacements. */
export class Redactor {
  private readonly needles: { readonly needle: string; readonly label: string }[];

  constructor(secrets: readonly SecretValue[]) {
    const seen = new Set<string>();
    const needles: { needle: string; label: string }[] = [];
    for (const secret of secrets) {
      for (const needle of secretVariants(secret.value)) {
        if (seen.has(needle)) continue;
        seen.add(needle);
        needles.push({ needle, label: secret.label });
      }
    }
    this.needles = needles.sort((a, b) => b.needle.length - a.needle.length);
  }

  redact(text: string): { text: string; count: number } {
    let out = text;
    let count = 0;
    for (const { needle, label } of this.needles) {
      if (!out.includes(needle)) continue;
      const parts = out.split(needle);
      count += parts.length - 1;
      out = parts.join(`[REDACTED:${label}]`);
    }
    const patterns = redactCredentials(out);
    return { text: patterns.text, count: count + patterns.count };
  }

  /**
   * The label of a secret (or `credential`) whose bytes `bytes` contain, else undefined. Bytes are
   * read one character each (latin1), so each needle is matched as its UTF-8 bytes.
   */
  foundIn(bytes: Uint8Array): string | undefined {
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const { needle, label } of this.needles) {
      if (view.includes(Buffer.from(needle, 'utf8'))) return label;
    }
    return redactCredentials(view.toString('latin1')).count > 0 ? 'credential' : undefined;
  }
}

export interface Sealed {
  readonly output: SealedOutput;
  readonly redactions: number;
  /** sha256 of the canonical JSON of `output`. */
  readonly outputSha256: string;
  /** Each output file as returned: name, bytes, sha256 of those bytes (the audit record's). */
  readonly files: readonly AuditFile[];
}

/** Redacts every text field of a sandbox result (file names included) and hashes the result. */
export function seal(result: SandboxResult, secrets: readonly SecretValue[]): Sealed {
  const redactor = new Redactor(secrets);
  let redactions = 0;
  const clean = (text: string): string => {
    const r = redactor.redact(text);
    redactions += r.count;
    return r.text;
  };
  const sealFile = (content: FileValue): FileValue => {
    if (typeof content === 'string') return clean(content);
    const label = redactor.foundIn(content);
    if (label === undefined) return content;
    redactions += 1;
    return `[REDACTED:${label}] binary file withheld: it contained a secret value or a credential (${content.byteLength} bytes)`;
  };
  const sealedFiles = fileMap(
    Object.entries(result.files).map(([name, content]) => [clean(name), sealFile(content)]),
  );
  const files = fileMap<AnswerFileValue>(
    Object.entries(sealedFiles).map(([name, content]) => [name, answerFileOf(content)]),
  );
  const error =
    'error' in result && result.error
      ? {
          name: clean(result.error.name),
          message: clean(result.error.message),
          traceback: clean(result.error.traceback),
        }
      : undefined;
  const output: SealedOutput = {
    status: result.status,
    stdout: clean(result.stdout),
    stderr: clean(result.stderr),
    ...(result.status === 'succeeded' && result.result !== undefined ? { result: clean(result.result) } : {}),
    ...(error ? { error } : {}),
    files,
    truncated: result.stdoutTruncated || result.stderrTruncated || result.filesTruncated,
  };
  return {
    output,
    redactions,
    outputSha256: sha256Hex(canonicalJson(output)),
    files: auditFiles(sealedFiles),
  };
}
