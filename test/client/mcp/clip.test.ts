import { describe, expect, it } from 'vitest';
import {
  CLIP_BYTES,
  clipExecution,
  clippedExecutionSchema,
  clipText,
  FILE_BYTES,
  FILES_BYTES,
} from '../../../client/mcp/clip.ts';
import type { ExecutionResponse } from '../../../lambda/core/api-schema.ts';

const base: ExecutionResponse = {
  executionId: 'ex-1',
  status: 'succeeded',
  stdout: '',
  stderr: '',
  truncated: false,
  durationMs: 12,
  codeSha256: 'c',
  outputSha256: 'o',
  role: { arn: 'arn:aws:sts::111122223333:assumed-role/r/s', sessionName: 's' },
};

describe('clipText', () => {
  it('keeps text that fits as it is', () => {
    expect(clipText('héllo', 6)).toEqual({ text: 'héllo', bytes: 6, shownBytes: 6 });
  });

  it('keeps the head and the tail of longer text and says how many bytes were cut between', () => {
    const out = clipText(`${'a'.repeat(100)}${'b'.repeat(100)}`, 20);
    expect(out).toEqual({
      text: `${'a'.repeat(10)}\n[... 180 bytes cut ...]\n${'b'.repeat(10)}`,
      bytes: 200,
      shownBytes: 20,
    });
  });

  it('never splits a multi-byte character', () => {
    const out = clipText('€'.repeat(100), 20);
    expect(out.text).not.toContain('\uFFFD');
    expect(out.shownBytes).toBeLessThanOrEqual(20);
    expect(out.shownBytes % 3).toBe(0);
  });
});

describe('clipExecution', () => {
  it('returns a small answer unchanged, without `clipped`', () => {
    const response = { ...base, stdout: 'ok\n', files: { 'a.txt': 'A' } };
    expect(clipExecution(response)).toEqual(response);
  });

  it('cuts stdout, stderr, the result and the traceback, and names each with its sizes', () => {
    const big = 'x'.repeat(CLIP_BYTES * 3);
    const out = clipExecution({
      ...base,
      status: 'failed',
      stdout: big,
      stderr: big,
      result: big,
      error: { name: 'E', message: 'boom', traceback: big },
    });
    expect(out.clipped?.fields).toEqual(
      ['stdout', 'stderr', 'result', 'error.traceback'].map((field) => ({
        field,
        bytes: CLIP_BYTES * 3,
        shownBytes: CLIP_BYTES,
      })),
    );
    expect(out.clipped?.note).toContain('custody show ex-1');
    expect(out.error?.message).toBe('boom');
    expect(clippedExecutionSchema.safeParse(out).success).toBe(true);
  });

  it('lists a binary file with its type and size but never its base64', () => {
    const png = { base64: 'iVBORw0KGgo='.repeat(1000), mediaType: 'image/png', bytes: 8000 };
    const out = clipExecution({ ...base, files: { 'chart.png': png } });
    expect(out.files?.['chart.png']).toEqual({ base64: '', mediaType: 'image/png', bytes: 8000 });
    expect(out.clipped?.fields).toContainEqual({ field: 'files/chart.png', bytes: 8000, shownBytes: 0 });
    expect(clippedExecutionSchema.safeParse(out).success).toBe(true);
  });

  it('keeps output files inline up to a cap each and in all, listing the rest empty', () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 6; i++) files[`f${i}.txt`] = 'y'.repeat(FILE_BYTES * 2);
    const out = clipExecution({ ...base, files });
    const shown = Object.values(out.files ?? {}).reduce((n, text) => n + Buffer.byteLength(String(text)), 0);
    expect(shown).toBeLessThanOrEqual(FILES_BYTES + 6 * 64);
    expect(Object.keys(out.files ?? {})).toEqual(Object.keys(files));
    expect(out.files?.['f5.txt']).toBe('');
    expect(out.clipped?.fields).toContainEqual({
      field: 'files/f5.txt',
      bytes: FILE_BYTES * 2,
      shownBytes: 0,
    });
    expect(out.clipped?.fields).toContainEqual({
      field: 'files/f0.txt',
      bytes: FILE_BYTES * 2,
      shownBytes: FILE_BYTES,
    });
  });

  it('keeps a file named __proto__ as an ordinary file', () => {
    const files = JSON.parse('{"__proto__":"data"}') as Record<string, string>;
    const out = clipExecution({ ...base, files });
    expect(Object.keys(out.files ?? {})).toEqual(['__proto__']);
    expect(JSON.stringify(out.files)).toBe('{"__proto__":"data"}');
  });
});
