import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../lambda/sandbox/line-splitter.ts';

describe('LineSplitter', () => {
  it('returns complete lines across chunk boundaries and keeps the rest for later', () => {
    const splitter = new LineSplitter();
    expect(splitter.push('{"a":')).toEqual([]);
    expect(splitter.push('1}\n{"b"')).toEqual(['{"a":1}']);
    expect(splitter.push(':2}\n\nx\ny')).toEqual(['{"b":2}', '', 'x']);
    expect(splitter.push('z\n')).toEqual(['yz']);
  });

  it('scans output written without newlines in linear time', () => {
    // 20,000 chunks of 100 characters and no newline, then one: a splitter that rescans its
    // partial line on every chunk examines ~2e10 characters; a linear one about 2e6.
    const splitter = new LineSplitter();
    const chunk = 'x'.repeat(100);
    for (let i = 0; i < 20_000; i += 1) expect(splitter.push(chunk)).toEqual([]);
    const [line] = splitter.push('\n');
    expect(line?.length).toBe(2_000_000);
    expect(splitter.scannedChars).toBeLessThanOrEqual(2 * (2_000_000 + 1));
  });
});
