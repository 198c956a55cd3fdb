import { describe, expect, it } from 'vitest';
import { requestFiles } from '../../client/file-values.ts';
import { fileBytes } from '../../client/index.ts';
import { allByteValues } from '../support/binary-samples.ts';

describe('files through the SDK', () => {
  it('sends a Uint8Array as base64, and text and { base64 } as given', () => {
    const blob = allByteValues();
    const files = requestFiles({ 'b.bin': blob, 't.txt': 'text', 'c.bin': { base64: 'AAE=' } });
    expect({ ...files }).toEqual({
      'b.bin': { base64: Buffer.from(blob).toString('base64') },
      't.txt': 'text',
      'c.bin': { base64: 'AAE=' },
    });
  });

  it('keeps an input named __proto__ as a file', () => {
    const input = JSON.parse('{"__proto__":"x"}') as Record<string, string>;
    expect(Object.keys(requestFiles(input))).toEqual(['__proto__']);
  });

  it('gives any answer file as its exact bytes, and nothing for a file it lacks', () => {
    const blob = allByteValues();
    const answer = {
      files: {
        'b.bin': {
          base64: Buffer.from(blob).toString('base64'),
          mediaType: 'application/octet-stream',
          bytes: blob.length,
        },
        't.txt': 'grüße',
      },
    };
    expect(fileBytes(answer, 'b.bin')).toEqual(blob);
    expect(fileBytes(answer, 't.txt')).toEqual(new Uint8Array(Buffer.from('grüße')));
    expect(fileBytes(answer, 'toString')).toBeUndefined();
    expect(fileBytes({}, 'b.bin')).toBeUndefined();
  });
});
