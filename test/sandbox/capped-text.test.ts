import { describe, expect, it } from 'vitest';
import { CappedFiles, CappedText, truncateUtf8 } from '../../lambda/sandbox/capped-text.ts';

describe('CappedText', () => {
  it('keeps text up to the cap and marks the rest as truncated', () => {
    const text = new CappedText(5);
    expect(text.append('abc')).toBe(true);
    expect(text.append('defg')).toBe(false);
    expect(text.toString()).toBe('abcde');
    expect(text.truncated).toBe(true);
  });

  it('never splits a multi-byte character', () => {
    expect(truncateUtf8('aé€', 4)).toBe('aé');
    expect(truncateUtf8('€€', 5)).toBe('€');
  });
});

describe('CappedFiles', () => {
  it('refuses a file past the byte budget', () => {
    const files = new CappedFiles(10, 5);
    expect(files.add('a', '12345')).toBe(true);
    expect(files.add('b', '123456')).toBe(false);
    expect(files.toRecord()).toEqual({ a: '12345' });
    expect(files.truncated).toBe(true);
  });
});
