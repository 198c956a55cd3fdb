/**
 * A session's call in QuickJS (#15), on the host side: the state prelude
 * (`quickjs-state-prelude.ts`) is evaluated in the context after the prelude and given the state
 * the call starts from; after the code, it is asked what the working folder and the top-level
 * bindings came to, within what is left of the state's budget.
 */
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core';
import { maxStateBytesOf } from '../core/sandbox-state.ts';
import type { SandboxRequest } from '../core/types.ts';
import { bindingCandidates, topLevelMask } from './js-source-scan.ts';
import { STATE_PRELUDE_FILENAME, STATE_PRELUDE_SOURCE } from './quickjs-state-prelude.ts';
import { type ReportedState, startingState } from './session-state.ts';

export interface JavaScriptSession {
  /** What the call leaves for the next one, or undefined if the context could not tell. */
  capture(): ReportedState | undefined;
}

/** Text of each carried file that is UTF-8; the names of the others (binary: not readable as text). */
function textFiles(files: Readonly<Record<string, string>>): {
  text: Record<string, string>;
  binary: string[];
} {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const text = Object.create(null) as Record<string, string>;
  const binary: string[] = [];
  for (const [name, content] of Object.entries(files)) {
    try {
      text[name] = decoder.decode(Buffer.from(content, 'base64'));
    } catch {
      binary.push(name);
    }
  }
  return { text, binary };
}

/** Result of a call into the context, as text; undefined if it threw. */
function callForText(ctx: QuickJSContext, fn: QuickJSHandle, args: QuickJSHandle[]): string | undefined {
  const result = ctx.callFunction(fn, ctx.undefined, ...args);
  for (const arg of args) arg.dispose();
  if (result.error) {
    result.error.dispose();
    return undefined;
  }
  const text = ctx.typeof(result.value) === 'string' ? ctx.getString(result.value) : undefined;
  result.value.dispose();
  return text;
}

/**
 * Restores the state in `ctx` (under the run's limits: call it once the code's clock runs) and
 * returns how to capture the next one. Undefined if the restore itself failed (the code then runs
 * without it and the call keeps the state it started from).
 */
export function openJavaScriptSession(
  ctx: QuickJSContext,
  request: SandboxRequest,
): JavaScriptSession | undefined {
  if (request.session === undefined) return undefined;
  const maxBytes = maxStateBytesOf(request.session);
  const starting = startingState(request);
  const factory = ctx.evalCode(STATE_PRELUDE_SOURCE, STATE_PRELUDE_FILENAME, { strict: true });
  if (factory.error) {
    factory.error.dispose();
    return undefined;
  }
  const stateArg = starting.javascript === undefined ? ctx.null : ctx.newString(starting.javascript);
  const filesArg = ctx.newString(JSON.stringify(textFiles(starting.files)));
  const opened = ctx.callFunction(factory.value, ctx.undefined, stateArg, filesArg);
  factory.value.dispose();
  filesArg.dispose();
  if (stateArg !== ctx.null) stateArg.dispose();
  if (opened.error) {
    opened.error.dispose();
    return undefined;
  }
  const api = opened.value;
  return {
    capture() {
      const filesFn = ctx.getProp(api, 'files');
      const captureFn = ctx.getProp(api, 'capture');
      try {
        const filesText = callForText(ctx, filesFn, []);
        if (filesText === undefined) return undefined;
        const changes = JSON.parse(filesText) as { written: [string, string][]; removed: string[] };
        const files = new Map(Object.entries(starting.files));
        for (const name of changes.removed) files.delete(name);
        for (const [name, text] of changes.written)
          files.set(name, Buffer.from(text, 'utf8').toString('base64'));
        const filesBytes = JSON.stringify(Object.fromEntries(files)).length;
        const pythonBytes = starting.python === undefined ? 0 : JSON.stringify(starting.python).length;
        const budget = Math.max(0, maxBytes - filesBytes - pythonBytes - 256);
        const captured = callForText(ctx, captureFn, [
          ctx.newString(JSON.stringify(bindingCandidates(request.code))),
          ctx.newString(topLevelMask(request.code)),
          ctx.newString(request.code),
          ctx.newNumber(budget),
        ]);
        if (captured === undefined) return undefined;
        const { javascript, dropped } = JSON.parse(captured) as { javascript: string; dropped: string[] };
        return { files: [...files], javascript, dropped };
      } catch {
        return undefined;
      } finally {
        filesFn.dispose();
        captureFn.dispose();
        api.dispose();
      }
    },
  };
}
