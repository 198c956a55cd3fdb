/** The executor's answer as the broker reads it: a session's state passes through (#15). */
import { describe, expect, it } from 'vitest';
import { parseSandboxResult } from '../../../lambda/adapters/aws/sandbox-result-schema.ts';

const answer = {
  status: 'succeeded',
  stdout: '',
  stderr: '',
  stdoutTruncated: false,
  stderrTruncated: false,
  files: {},
  filesTruncated: false,
  timings: { startMs: 1, runMs: 2 },
};

describe('executor answer schema', () => {
  it("keeps a session's state and what was dropped", () => {
    const state = { carried: { files: { 'a.txt': 'YQ==' }, python: '{"v":1}' }, dropped: ['gen'] };
    const parsed = parseSandboxResult({ ...answer, state });
    expect(parsed.ok && parsed.result.state).toEqual(state);
  });

  it('refuses a state file that would leave the working folder', () => {
    const state = { carried: { files: { '../x': 'YQ==' } }, dropped: [] };
    expect(parseSandboxResult({ ...answer, state })).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/state\.carried\.files/),
    });
  });
});
