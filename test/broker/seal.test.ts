import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Redactor, seal, secretVariants } from '../../lambda/broker/seal.ts';
import { canonicalJson } from '../../lambda/core/canonical-json.ts';
import { sandboxResult } from './fakes.ts';

const SECRET = 'tok-9f8e7d6c5b4a';
const secrets = [{ label: 'REPORT_API_TOKEN', value: SECRET }];
const MARK = '[REDACTED:REPORT_API_TOKEN]';

describe('Redactor', () => {
  const redactor = new Redactor(secrets);

  it.each([
    ['verbatim', SECRET],
    ['base64', Buffer.from(SECRET).toString('base64')],
    ['base64url', Buffer.from(SECRET).toString('base64url')],
    ['hex', Buffer.from(SECRET).toString('hex')],
    ['upper-case hex', Buffer.from(SECRET).toString('hex').toUpperCase()],
    ['JSON-escaped', JSON.stringify(SECRET).slice(1, -1)],
    ['reversed', [...SECRET].reverse().join('')],
  ])('redacts the secret printed %s', (_label, printed) => {
    const { text, count } = redactor.redact(`value: ${printed} end`);
    expect(text).not.toContain(printed);
    expect(text).toContain('[REDACTED:REPORT_API_TOKEN]');
    expect(count).toBe(1);
  });

  it.each([1, 2, 3])('redacts the secret inside a longer base64 string at offset %i', (prefixBytes) => {
    const encoded = Buffer.from(`${'x'.repeat(prefixBytes)}Bearer ${SECRET} trailer`).toString('base64');
    const { text, count } = redactor.redact(encoded);
    expect(count).toBeGreaterThan(0);
    // What is left cannot be decoded back into the secret.
    expect(Buffer.from(text.replaceAll(MARK, ''), 'base64').toString('utf8')).not.toContain(SECRET);
  });

  it('redacts a secret with characters that JSON and URLs escape', () => {
    const tricky = new Redactor([{ label: 'DB_PASSWORD', value: 'p@ss "w/rd"\\1' }]);
    const printed = `${JSON.stringify({ pw: 'p@ss "w/rd"\\1' })} ${encodeURIComponent('p@ss "w/rd"\\1')}`;
    const { text, count } = tricky.redact(printed);
    expect(text).toBe('{"pw":"[REDACTED:DB_PASSWORD]"} [REDACTED:DB_PASSWORD]');
    expect(count).toBe(2);
  });

  it('counts every occurrence', () => {
    expect(redactor.redact(`${SECRET}${SECRET} ${SECRET}`).count).toBe(3);
  });

  it('redacts credential patterns even when no secret was injected', () => {
    const key = ['AKIA', 'Q3EGRJ7XZ2LMNPTW'].join('');
    expect(new Redactor([]).redact(`found ${key}`)).toEqual({
      text: 'found [REDACTED:aws-access-key-id]',
      count: 1,
    });
  });

  it('leaves text without secrets alone', () => {
    expect(redactor.redact('nothing to see')).toEqual({ text: 'nothing to see', count: 0 });
  });

  it('lists each encoding once, longest first', () => {
    const variants = secretVariants(SECRET);
    expect(new Set(variants).size).toBe(variants.length);
    expect([...variants].sort((a, b) => b.length - a.length)).toEqual(variants);
  });
});

describe('Seal', () => {
  it('redacts stdout, stderr, result, error and files (names and contents)', () => {
    const sealed = seal(
      sandboxResult({
        status: 'failed',
        stdout: `out ${SECRET}`,
        stderr: `err ${SECRET}`,
        files: { [`${SECRET}.txt`]: `file ${SECRET}` },
        error: { name: 'ValueError', message: `bad ${SECRET}`, traceback: `line 1 ${SECRET}` },
      } as never),
      secrets,
    );
    expect(JSON.stringify(sealed.output)).not.toContain(SECRET);
    expect(sealed.redactions).toBe(6);
    expect(sealed.output.files).toEqual({ [`${MARK}.txt`]: `file ${MARK}` });
    expect(sealed.output.error?.message).toBe(`bad ${MARK}`);
  });

  it('redacts the result of a successful run', () => {
    const sealed = seal(sandboxResult({ status: 'succeeded', result: `'${SECRET}'` } as never), secrets);
    expect(sealed.output.result).toBe(`'${MARK}'`);
  });

  it('hashes the canonical JSON of the sealed output', () => {
    const sealed = seal(sandboxResult({ stdout: 'hi' }), []);
    const expected = createHash('sha256').update(canonicalJson(sealed.output)).digest('hex');
    expect(sealed.outputSha256).toBe(expected);
    expect(sealed.outputSha256).not.toBe(seal(sandboxResult({ stdout: 'ho' }), []).outputSha256);
  });

  it('reports truncation of any stream or of the files', () => {
    expect(seal(sandboxResult({ stderrTruncated: true }), []).output.truncated).toBe(true);
    expect(seal(sandboxResult({ filesTruncated: true }), []).output.truncated).toBe(true);
    expect(seal(sandboxResult(), []).output.truncated).toBe(false);
  });

  it('sorts keys at every level in canonical JSON', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: [{ f: 1, e: 2 }] } })).toBe(
      '{"a":{"c":[{"e":2,"f":1}],"d":2},"b":1}',
    );
  });
});
