/**
 * What a QuickJS execution came to: the code evaluated and its promise jobs run under the
 * deadline, a thrown value read into `{ name, message, traceback }`, and the status that follows
 * from the error, the interruption (deadline or output cap) and the memory cap.
 */
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime } from 'quickjs-emscripten-core';
import type { SandboxStatus, UserCodeError } from '../core/types.ts';
import { CappedText } from './capped-text.ts';
import { PRELUDE_FILENAME } from './quickjs-prelude.ts';

/** Pending promise jobs run per slice while a returned promise settles. */
const JOBS_PER_SLICE = 1_000;
const USER_FILENAME = 'main.js';
/** Traceback lines kept (a deep recursion produces thousands of identical frames). */
const MAX_TRACEBACK_LINES = 50;

/** Why the host stopped the code, if it did. */
export type Interruption = 'deadline' | 'output' | undefined;

/** The code's value (a handle, or none to report) or the error it ended with. */
export type Outcome =
  | { kind: 'value'; handle: QuickJSHandle | undefined }
  | { kind: 'error'; error: UserCodeError };

/**
 * Evaluates the code, then runs its promise jobs under the deadline, and reads what it came to.
 * A returned promise counts by what it settled to.
 */
export function evaluate(
  ctx: QuickJSContext,
  runtime: QuickJSRuntime,
  source: string,
  deadline: number,
  interrupted: () => Interruption,
): Outcome {
  const evaluated = ctx.evalCode(source, USER_FILENAME, { backtraceBarrier: true });
  if (evaluated.error) return { kind: 'error', error: takeError(ctx, evaluated.error) };
  let value = evaluated.value;

  // Promise jobs (an async function, a `.then`) run to completion under the same deadline, as a
  // host's microtask queue would; nothing is left pending when the runtime is disposed.
  while (runtime.hasPendingJob() && !interrupted() && Date.now() <= deadline) {
    const jobs = runtime.executePendingJobs(JOBS_PER_SLICE);
    if (jobs.error) {
      value.dispose();
      return { kind: 'error', error: takeError(ctx, jobs.error) };
    }
  }
  if (runtime.hasPendingJob()) {
    // The deadline (or the output cap) stopped a queue that was still running.
    value.dispose();
    return { kind: 'error', error: { name: 'InternalError', message: 'interrupted', traceback: '' } };
  }
  const state = ctx.getPromiseState(value);
  if (state.type === 'rejected') {
    value.dispose();
    return { kind: 'error', error: takeError(ctx, state.error) };
  }
  if (state.type === 'pending') {
    value.dispose();
    if (interrupted() || Date.now() > deadline) {
      return { kind: 'error', error: { name: 'InternalError', message: 'interrupted', traceback: '' } };
    }
    // A promise nothing can settle any more: there is no value to report.
    return { kind: 'value', handle: undefined };
  }
  if (!state.notAPromise) {
    value.dispose();
    value = state.value;
  }
  if (ctx.typeof(value) === 'undefined') {
    value.dispose();
    return { kind: 'value', handle: undefined };
  }
  return { kind: 'value', handle: value };
}

/** Converts a thrown QuickJS value into `{ name, message, traceback }` and disposes it. */
function takeError(ctx: QuickJSContext, handle: QuickJSHandle): UserCodeError {
  try {
    const dumped: unknown = ctx.dump(handle);
    if (dumped && typeof dumped === 'object') {
      const record = dumped as Record<string, unknown>;
      const name = typeof record.name === 'string' ? record.name : 'Error';
      const message = typeof record.message === 'string' ? record.message : String(dumped);
      const stack = typeof record.stack === 'string' ? record.stack : '';
      return { name, message, traceback: userFrames(stack) };
    }
    return { name: 'Error', message: `uncaught ${typeof dumped}: ${String(dumped)}`, traceback: '' };
  } catch {
    return { name: 'Error', message: 'an exception that could not be read', traceback: '' };
  } finally {
    handle.dispose();
  }
}

export function statusOf(
  error: UserCodeError,
  interruption: Interruption,
  memoryExhausted: boolean,
): SandboxStatus {
  if (interruption === 'deadline') return 'timed_out';
  if (interruption === 'output') return 'output_limit';
  if (memoryExhausted || (error.name === 'InternalError' && error.message === 'out of memory')) {
    return 'out_of_memory';
  }
  return 'failed';
}

/** Keeps only the stack lines of the user's code (drops the prelude's and the engine's). */
function userFrames(stack: string): string {
  const lines = stack.split('\n').filter((line) => line.trim() !== '' && !line.includes(PRELUDE_FILENAME));
  if (lines.length <= MAX_TRACEBACK_LINES) return lines.join('\n');
  const omitted = lines.length - MAX_TRACEBACK_LINES;
  return [...lines.slice(0, MAX_TRACEBACK_LINES), `    ... ${omitted} more frames`].join('\n');
}

export function engineTrapError(cause: unknown): UserCodeError {
  if (cause instanceof RangeError) {
    return { name: 'RangeError', message: 'Maximum call stack size exceeded', traceback: '' };
  }
  return {
    name: 'InternalError',
    message: 'the JavaScript engine stopped; this execution was discarded',
    traceback: '',
  };
}

export function truncate(text: string, maxBytes: number): string {
  const capped = new CappedText(maxBytes);
  capped.append(text);
  return capped.toString();
}
