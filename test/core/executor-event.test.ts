/** The executor event's `session` (#15): the state a call starts from, bounded at the edge. */
import { describe, expect, it } from 'vitest';
import { parseSandboxEvent } from '../../lambda/core/executor-event.ts';
import { MAX_STATE_BYTES_LIMIT, MAX_STATE_FILES } from '../../lambda/core/sandbox-state.ts';

const base = {
  executionId: 'exec-1',
  language: 'python',
  code: 'x',
  limits: { timeoutMs: 1_000, memoryMiB: 64, maxOutputBytes: 1_024 },
};
const withState = (state: unknown, extra: object = {}) => ({ ...base, session: { state, ...extra } });
const problem = (event: unknown) => {
  const parsed = parseSandboxEvent(event);
  return parsed.ok ? undefined : parsed.message;
};

describe('executor event: session state', () => {
  it('accepts a session call with and without a state, and keeps the state as sent', () => {
    const state = { files: { 'out/a.csv': 'YSxi' }, python: '{"v":1}', javascript: '{"v":1}' };
    const parsed = parseSandboxEvent(withState(state, { maxStateBytes: 4_096 }));
    expect(parsed.ok && parsed.request.session).toEqual({ state, maxStateBytes: 4_096 });
    expect(parseSandboxEvent({ ...base, session: {} }).ok).toBe(true);
  });

  it.each([
    ['../escape.txt', 'must not contain empty, "." or ".." segments'],
    ['/etc/passwd', 'must be a relative path with / separators'],
    ['a\\b', 'must be a relative path with / separators'],
  ])('refuses a state file named %s', (name, reason) => {
    expect(problem(withState({ files: { [name]: 'eA==' } }))).toContain(reason);
  });

  it('refuses contents that are not base64, and unknown fields', () => {
    expect(problem(withState({ files: { 'a.txt': 'not base64!' } }))).toMatch(
      /session\.state\.files.*must be base64/,
    );
    expect(problem(withState({ files: {}, ruby: 'x' }))).toMatch(/session\.state/);
    expect(problem({ ...base, session: { state: { files: {} }, extra: 1 } })).toMatch(/session/);
  });

  it('refuses a state larger than its maxStateBytes, or than the ceiling', () => {
    const files = { 'big.bin': Buffer.alloc(3_000).toString('base64') };
    expect(problem(withState({ files }, { maxStateBytes: 2_048 }))).toMatch(
      /session\.state: is \d+ bytes, more than the 2048 allowed/,
    );
    expect(problem(withState({ files }, { maxStateBytes: MAX_STATE_BYTES_LIMIT + 1 }))).toMatch(
      /session\.maxStateBytes/,
    );
    const huge = { files: {}, python: 'x'.repeat(MAX_STATE_BYTES_LIMIT) };
    expect(problem(withState(huge))).toMatch(/session\.state: is \d+ bytes/);
  });

  it('refuses more files than a state may carry', () => {
    const files = Object.fromEntries(Array.from({ length: MAX_STATE_FILES + 1 }, (_, i) => [`f${i}`, '']));
    expect(problem(withState({ files }))).toMatch(/session\.state\.files.*at most 1000 files/);
  });
});
