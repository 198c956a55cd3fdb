import { describe, expect, it } from 'vitest';
import { parseExecutionRequest } from '../../lambda/broker/request.ts';
import { ValidationError } from '../../lambda/core/errors.ts';

const valid = { profile: 'sandbox', language: 'python', code: 'print(1)' };

function refusal(body: string | null): string {
  try {
    parseExecutionRequest(body);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

const body = (fields: Record<string, unknown>) => JSON.stringify({ ...valid, ...fields });

describe('parseExecutionRequest', () => {
  it('accepts a request and parses its files into a map with no prototype', () => {
    const request = parseExecutionRequest(body({ files: { 'a/b.txt': 'x' }, timeoutMs: 500, purpose: 'p' }));
    expect(request).toMatchObject({ ...valid, timeoutMs: 500, purpose: 'p' });
    expect(Object.getPrototypeOf(request.files)).toBeNull();
    expect(request.files?.['a/b.txt']).toBe('x');
  });

  it.each([
    ['no body', null, 'body: a JSON object is required'],
    ['a blank body', '  ', 'body: a JSON object is required'],
    ['a body that is not JSON', '{', 'body: not valid JSON'],
    ['an array', '[]', 'body: Invalid input: expected object, received array'],
    ['an unknown field', body({ extra: 1 }), '"extra": unknown field'],
    ['an empty profile', body({ profile: '' }), 'profile: must not be empty'],
    [
      'a missing language',
      JSON.stringify({ profile: 'p', code: 'x' }),
      'language: Invalid option: expected one of "python"|"javascript"|"typescript"',
    ],
    ['a timeout too short', body({ timeoutMs: 99 }), 'timeoutMs: Too small: expected number to be >=100'],
    [
      'a file name with ..',
      body({ files: { '../x': 'a' } }),
      'files["../x"] (file name): must be a relative path of [A-Za-z0-9._-] segments without ..',
    ],
    [
      'a file that is not text',
      body({ files: { 'a.txt': 1 } }),
      'files["a.txt"]: must be a string (UTF-8 text) or { "base64": "…" }',
    ],
    [
      'a file named like an identifier that is not text',
      body({ files: { a: 1 } }),
      'files.a: must be a string (UTF-8 text) or { "base64": "…" }',
    ],
    [
      'a binary file that is not base64',
      body({ files: { 'a.bin': { base64: 'AA=A' } } }),
      'files["a.bin"].base64: must be padded standard base64',
    ],
    [
      'a binary file with a field besides base64',
      body({ files: { 'a.bin': { base64: 'AA==', mediaType: 'image/png' } } }),
      'files["a.bin"]: Unrecognized key: "mediaType"',
    ],
    [
      'too many files',
      body({ files: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`f${i}`, ''])) }),
      'files: at most 64 files',
    ],
  ])('names the field that is wrong in %s', (_what, text, message) => {
    expect(refusal(text)).toBe(message);
  });
});
