import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { allIssues, firstIssue, formatIssuePath } from '../../lambda/core/zod-issues.ts';

describe('formatIssuePath', () => {
  it('writes keys with dots and indexes in brackets', () => {
    expect(formatIssuePath(['principals', 0, 'grants', 1, 'profile'], { root: '(root)' })).toBe(
      'principals[0].grants[1].profile',
    );
  });

  it('quotes keys that are not identifiers only when asked', () => {
    expect(formatIssuePath(['files', '../x'], { root: 'body', quoteKeys: true })).toBe('files["../x"]');
    expect(formatIssuePath(['profiles', 'my-profile'], { root: '' })).toBe('profiles.my-profile');
  });

  it('names the whole document by its root', () => {
    expect(formatIssuePath([], { root: '(event)' })).toBe('(event)');
  });
});

describe('issues of a failed parse', () => {
  const schema = z.strictObject({ a: z.string(), b: z.array(z.number()) });
  const failed = schema.safeParse({ a: 1, b: [1, 'x'] });

  it('gives the first issue as path: message', () => {
    expect(firstIssue(failed.error as z.ZodError, { root: '(root)' })).toMatch(/^a: Invalid input/);
  });

  it('gives every issue as path: message', () => {
    const lines = allIssues(failed.error as z.ZodError, { root: '(root)' });
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^b\[1\]: Invalid input/);
  });

  it('says invalid when zod reports no issue', () => {
    expect(firstIssue(new z.ZodError([]), { root: '' })).toBe(': invalid');
  });
});
