import { describe, expect, it } from 'vitest';
import { EXECUTION_ID, newUlid } from '../../lambda/core/ids.ts';

describe('Execution ids', () => {
  it('are ULIDs that sort by time and never repeat', () => {
    const a = newUlid(new Date('2030-01-01T00:00:00Z'));
    const b = newUlid(new Date('2030-01-01T00:00:01Z'));
    expect(a).toMatch(EXECUTION_ID);
    expect(a < b).toBe(true);
    const many = new Set(Array.from({ length: 1000 }, () => newUlid()));
    expect(many.size).toBe(1000);
  });
});
