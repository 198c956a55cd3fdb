/**
 * What a Python host process is given for a session's call (#15): the state to restore, the glue
 * that restores and captures it (python-state-glue.ts), and the state's bounds.
 */
import { createHash } from 'node:crypto';
import { MAX_STATE_FILES, maxStateBytesOf } from '../core/sandbox-state.ts';
import type { SandboxRequest } from '../core/types.ts';
import { PYTHON_STATE_GLUE } from './python-state-glue.ts';
import { startingState } from './session-state.ts';

/** The glue's version: a snapshot that holds another one is not used for it. */
const STATE_GLUE_ID = createHash('sha256').update(PYTHON_STATE_GLUE).digest('hex').slice(0, 16);

/** The arguments after `snapshot <pyodideDir>` that compile the glue into a snapshot. */
export function stateGlueArgs(): string[] {
  return [PYTHON_STATE_GLUE, STATE_GLUE_ID];
}

/** The job's `session` field, or nothing for a call outside a session (the job is as before). */
export function pythonSessionJob(request: SandboxRequest): { session?: object } {
  if (request.session === undefined) return {};
  return {
    session: {
      glue: PYTHON_STATE_GLUE,
      glueId: STATE_GLUE_ID,
      state: startingState(request),
      maxStateBytes: maxStateBytesOf(request.session),
      maxFiles: MAX_STATE_FILES,
    },
  };
}

/** Protocol bytes a session's state may add to the process's answer (JSON-escaped, twice over). */
export function sessionProtocolBytes(request: SandboxRequest): number {
  return request.session === undefined ? 0 : 2 * maxStateBytesOf(request.session) + 64 * 1024;
}
