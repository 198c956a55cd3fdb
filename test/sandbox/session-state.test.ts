/**
 * What becomes `result.state` (#15): the sandbox's report is checked again on the host side (the
 * code can forge it), and a call stopped by a limit keeps the state it started from.
 */
import { describe, expect, it } from 'vitest';
import type { SandboxState } from '../../lambda/core/session.ts';
import type { SandboxResult } from '../../lambda/core/types.ts';
import { withSessionState } from '../../lambda/sandbox/session-state.ts';
import { request } from './helpers.ts';

const answer = (status: 'succeeded' | 'timed_out' = 'succeeded'): SandboxResult => ({
  status,
  stdout: '',
  stderr: '',
  stdoutTruncated: false,
  stderrTruncated: false,
  files: {},
  filesTruncated: false,
  timings: { startMs: 0, runMs: 0 },
});
const previous: SandboxState = { files: { 'a.txt': 'YQ==' }, python: 'old-python', javascript: 'old-js' };
const sessionCall = (maxStateBytes?: number) =>
  request('python', 'x', { session: { state: previous, ...(maxStateBytes ? { maxStateBytes } : {}) } });

describe('session state of a result', () => {
  it('gives a call outside a session no state, even one a sandbox reported', () => {
    const forged = { ...answer(), state: { carried: previous, dropped: [] } } as SandboxResult;
    expect(withSessionState(request('python', 'x'), forged, undefined)).not.toHaveProperty('state');
  });

  it('carries what the sandbox reported, keeping the other language’s blob', () => {
    const result = withSessionState(sessionCall(), answer(), {
      files: [['b.txt', 'Yg==']],
      python: 'new-python',
      dropped: ['gen'],
    });
    expect(result.state).toEqual({
      carried: { files: { 'b.txt': 'Yg==' }, python: 'new-python', javascript: 'old-js' },
      dropped: ['gen'],
    });
  });

  it('drops, by name, reported files with unsafe names or contents that are not base64', () => {
    const result = withSessionState(sessionCall(), answer(), {
      files: [
        ['../up.txt', 'eA=='],
        ['/abs', 'eA=='],
        ['ok.txt', 'not base64!'],
        ['fine.txt', 'eA=='],
      ],
      dropped: [],
    });
    expect(result.state?.carried.files).toEqual({ 'fine.txt': 'eA==' });
    expect(result.state?.dropped).toEqual(['file:../up.txt', 'file:/abs', 'file:ok.txt']);
  });

  it('keeps the starting state when the call was stopped, reported nothing, or left too much', () => {
    const stopped = withSessionState(sessionCall(), answer('timed_out'), { files: [], dropped: [] });
    expect(stopped.state?.carried).toEqual(previous);
    expect(stopped.state?.dropped).toEqual([expect.stringMatching(/^\* \(it ended timed_out/)]);

    const silent = withSessionState(sessionCall(), answer(), undefined);
    expect(silent.state?.carried).toEqual(previous);

    const big = withSessionState(sessionCall(2_048), answer(), {
      files: [['big.bin', Buffer.alloc(3_000).toString('base64')]],
      dropped: [],
    });
    expect(big.state?.carried).toEqual(previous);
    expect(big.state?.dropped).toEqual([expect.stringMatching(/more than the 2048 allowed/)]);
  });

  it('bounds a forged dropped list', () => {
    const result = withSessionState(sessionCall(), answer(), {
      files: [],
      dropped: Array.from({ length: 5_000 }, (_, i) => `${i}${'n'.repeat(1_000)}`),
    });
    expect(result.state?.dropped).toHaveLength(1_000);
    expect(Math.max(...(result.state?.dropped ?? []).map((d) => d.length))).toBe(300);
  });
});
