/**
 * A session's state on the sandboxes' host side (#15), for both sandboxes: the state a call
 * starts from is checked before anything runs, and the state a sandbox reports after the code is
 * checked again (the code can forge what its sandbox reports) before it becomes `result.state`.
 *
 * What a call carries:
 * - it ran to its end, or raised its own exception (`succeeded`, `failed`): what it left, like a
 *   REPL after an error (what was defined before the failure is kept);
 * - a limit stopped it (`timed_out`, `out_of_memory`, `output_limit`), its process ended before it
 *   reported, or what it left is larger than the session may keep: the state it started from,
 *   unchanged, and `dropped` says so in one entry starting with `*`.
 * A request without `session` gets no `state` at all.
 */
import { ValidationError } from '../core/errors.ts';
import { fileMap, unsafeFileNameReason } from '../core/file-map.ts';
import {
  BASE64,
  droppedFile,
  droppedWholeCall,
  MAX_STATE_FILES,
  maxStateBytesOf,
  stateBytes,
} from '../core/sandbox-state.ts';
import type { SandboxState } from '../core/session.ts';
import type { SandboxRequest, SandboxResult } from '../core/types.ts';

/** `dropped` entries kept at most, each at most this long (what a sandbox reports is untrusted). */
const MAX_DROPPED = 1_000;
const MAX_DROPPED_CHARS = 300;

/** What a sandbox reported after the code: the working folder's files and its language's blob. */
export interface ReportedState {
  readonly files: readonly (readonly [string, string])[];
  readonly python?: string | null | undefined;
  readonly javascript?: string | null | undefined;
  readonly dropped: readonly string[];
}

/** The state a session's call starts from (empty on its first call). */
export function startingState(request: SandboxRequest): SandboxState {
  return request.session?.state ?? { files: fileMap<string>() };
}

/**
 * Refuses a state the sandbox will not restore: an unsafe file name, contents that are not
 * base64, too many files, or more bytes than the request allows. A clear error, before anything runs.
 */
export function checkStartingState(request: SandboxRequest): void {
  const session = request.session;
  if (session?.state === undefined) return;
  const names = Object.keys(session.state.files);
  if (names.length > MAX_STATE_FILES) {
    throw new ValidationError(`session state carries ${names.length} files, more than ${MAX_STATE_FILES}`);
  }
  for (const name of names) {
    const reason = unsafeFileNameReason(name);
    if (reason) throw new ValidationError(`session state file name ${JSON.stringify(name)} ${reason}`);
    if (!BASE64.test(session.state.files[name] ?? '')) {
      throw new ValidationError(`session state file ${JSON.stringify(name)} is not base64`);
    }
  }
  const bytes = stateBytes(session.state);
  const max = maxStateBytesOf(session);
  if (bytes > max) {
    throw new ValidationError(`session state is ${bytes} bytes, more than the ${max} allowed`);
  }
}

/** The result with its `state` (a session's call) or without any (not a session's call). */
export function withSessionState(
  request: SandboxRequest,
  result: SandboxResult,
  reported: ReportedState | undefined,
): SandboxResult {
  const { state: _ignored, ...plain } = result;
  const session = request.session;
  if (session === undefined) return plain as SandboxResult;
  const previous = startingState(request);
  const keepPrevious = (why: string): SandboxResult =>
    ({ ...plain, state: { carried: previous, dropped: [droppedWholeCall(why)] } }) as SandboxResult;

  if (result.status !== 'succeeded' && result.status !== 'failed')
    return keepPrevious(`it ended ${result.status}`);
  if (reported === undefined) return keepPrevious('its state could not be captured');

  const dropped = new Set<string>();
  for (const entry of reported.dropped) {
    if (dropped.size >= MAX_DROPPED) break;
    dropped.add(entry.slice(0, MAX_DROPPED_CHARS));
  }
  const files = fileMap<string>();
  for (const [name, content] of reported.files) {
    const count = Object.keys(files).length;
    if (unsafeFileNameReason(name) !== undefined || !BASE64.test(content) || count >= MAX_STATE_FILES) {
      dropped.add(droppedFile(name).slice(0, MAX_DROPPED_CHARS));
      continue;
    }
    files[name] = content;
  }
  const python = blob(reported.python, previous.python);
  const javascript = blob(reported.javascript, previous.javascript);
  const carried: SandboxState = {
    files,
    ...(python === undefined ? {} : { python }),
    ...(javascript === undefined ? {} : { javascript }),
  };
  const bytes = stateBytes(carried);
  const max = maxStateBytesOf(session);
  if (bytes > max) return keepPrevious(`its state is ${bytes} bytes, more than the ${max} allowed`);
  return { ...plain, state: { carried, dropped: [...dropped] } } as SandboxResult;
}

/** A language's blob: the new one if the sandbox reported one, else the one the call started with. */
function blob(reported: string | null | undefined, previous: string | undefined): string | undefined {
  return typeof reported === 'string' ? reported : previous;
}
