/**
 * JavaScript (and, after a TypeScript transform, TypeScript) in QuickJS compiled to WebAssembly.
 *
 * Each execution gets a fresh WebAssembly instance of the engine with its own linear memory (so no
 * byte a previous execution left in freed memory is there), and in it a fresh QuickJS runtime and
 * context with a memory limit, a stack limit and an interrupt deadline. The only host functions
 * inside are the prelude's stream and file writers. The next instance is prepared in the
 * background while the current one runs, and is discarded after one execution.
 *
 * The engine instance and its memory cap are `quickjs-engine.ts`, the host functions
 * `quickjs-host-bridge.ts`, the evaluation under the deadline and its status `quickjs-outcome.ts`.
 */

import type { QuickJSContext } from 'quickjs-emscripten-core';
import { unsafeFileNameReason } from '../core/file-map.ts';
import { MAX_OUTPUT_FILES } from '../core/limits.ts';
import type { SandboxRequest, SandboxResult } from '../core/types.ts';
import { CappedFiles, CappedText } from './capped-text.ts';
import { datasetWriteRefusal } from './dataset-files.ts';
import { type Engine, newEngine } from './quickjs-engine.ts';
import { installPrelude, renderValue } from './quickjs-host-bridge.ts';
import { engineTrapError, evaluate, type Interruption, statusOf, truncate } from './quickjs-outcome.ts';
import {
  installRequire,
  type JavaScriptPackageCatalog,
  packageScope,
  refuseDynamicImports,
} from './quickjs-packages.ts';
import { type JavaScriptSession, openJavaScriptSession } from './quickjs-state.ts';
import { checkStartingState, type ReportedState, withSessionState } from './session-state.ts';
import { needsTransform, prepareTypeScript, stopSpareTransform } from './typescript.ts';

/** QuickJS's own stack limit. Kept well below Node's native stack so QuickJS reports the overflow first. */
const QUICKJS_STACK_BYTES = 200 * 1024;

export interface QuickJsSandboxOptions {
  /** Forwarded to the TypeScript transform (esbuild); see `typescript.ts`. */
  readonly esbuildBinaryPath?: string;
  /** The JavaScript packages each profile bundles (`quickjs-packages.ts`). @default none */
  readonly packages?: JavaScriptPackageCatalog;
}

/** Which profile's packages a run may import, and whether its caller already transformed it. */
export interface RunScope {
  readonly profile?: string;
  /** Set by a caller that ran the transform itself (`prepareTypeScript`): whether imports became `require` calls. */
  readonly prepared?: { readonly imports: boolean };
}

export class QuickJsSandbox {
  /** The instance the next execution takes (prepared ahead so its compile is off the critical path). */
  private next: Promise<Engine> | undefined;

  constructor(private readonly options: QuickJsSandboxOptions = {}) {}

  /**
   * Runs one execution. TypeScript is transformed first, inside the run's limits (`typescript.ts`).
   * `spentMs` is time the run already used before it got here (a transform done by the caller):
   * it is taken from the deadline and counted in `runMs`.
   */
  async run(request: SandboxRequest, spentMs = 0, scope: RunScope = {}): Promise<SandboxResult> {
    checkStartingState(request);
    // A session's call (#15): what the code left, reported by the state prelude after it ran.
    const session: { reported?: ReportedState } = {};
    let result: SandboxResult;
    if (!scope.prepared && needsTransform(request)) {
      const prepared = await prepareTypeScript(request, this.options.esbuildBinaryPath);
      result =
        'result' in prepared
          ? prepared.result
          : await this.runJavaScript(
              prepared.request,
              prepared.spentMs,
              scope.profile,
              prepared.imports,
              session,
            );
    } else {
      result = await this.runJavaScript(
        request,
        spentMs,
        scope.profile,
        scope.prepared?.imports ?? false,
        session,
      );
    }
    return withSessionState(request, result, session.reported);
  }

  private async runJavaScript(
    request: SandboxRequest,
    spentMs: number,
    profile: string | undefined,
    imports: boolean,
    session: { reported?: ReportedState },
  ): Promise<SandboxResult> {
    const started = performance.now();
    const { limits } = request;
    const stdout = new CappedText(limits.maxOutputBytes);
    const stderr = new CappedText(limits.maxOutputBytes);
    const files = new CappedFiles(limits.maxOutputBytes, MAX_OUTPUT_FILES);
    const base = () => ({
      stdout: stdout.toString(),
      stderr: stderr.toString(),
      stdoutTruncated: stdout.truncated,
      stderrTruncated: stderr.truncated,
      files: files.toRecord(),
      filesTruncated: files.truncated,
    });
    const source = request.code;

    const engine = await this.takeEngine();
    engine.capMemory(engine.memoryBytes() + limits.memoryMiB * 1024 * 1024);
    const runtime = engine.module.newRuntime();
    let context: QuickJSContext | undefined;
    let interruption: Interruption;
    // What a transform already used is taken from the deadline and counted in the run's time.
    let deadline = Date.now() + limits.timeoutMs - spentMs;
    let runStarted = performance.now();
    try {
      runtime.setMemoryLimit(limits.memoryMiB * 1024 * 1024);
      runtime.setMaxStackSize(QUICKJS_STACK_BYTES);
      runtime.setInterruptHandler(() => {
        if (interruption) return true;
        if (Date.now() > deadline) interruption = 'deadline';
        return interruption !== undefined;
      });
      context = runtime.newContext();
      const ctx = context;
      const packages = packageScope(this.options.packages, profile);
      refuseDynamicImports(runtime, packages);
      if (imports) installRequire(ctx, packages);
      const render = installPrelude(ctx, request, {
        write: (stream, text) => {
          const buffer = stream === 2 ? stderr : stdout;
          if (!buffer.append(text)) interruption ??= 'output';
        },
        writeFile: (name, content) => {
          const reason = datasetWriteRefusal(name) ?? unsafeFileNameReason(name);
          if (reason) return `output file name ${JSON.stringify(name)} ${reason}`;
          if (!files.add(name, content)) {
            return `output files exceed ${limits.maxOutputBytes} bytes or ${MAX_OUTPUT_FILES} files`;
          }
          return undefined;
        },
      });

      runStarted = performance.now();
      // The user's code gets its whole deadline from here (the prelude above is the host's time).
      deadline = Date.now() + limits.timeoutMs - spentMs;
      const state: JavaScriptSession | undefined = openJavaScriptSession(ctx, request);
      const outcome = evaluate(ctx, runtime, source, deadline, () => interruption);
      // The last value is rendered inside the clock: its toJSON, getters and toString are user code.
      const result =
        outcome.kind === 'value' && outcome.handle !== undefined
          ? renderValue(ctx, render, outcome.handle)
          : undefined;
      render.dispose();
      if (state && interruption === undefined) session.reported = state.capture();
      const timings = { startMs: runStarted - started, runMs: spentMs + performance.now() - runStarted };
      if (interruption === undefined && Date.now() > deadline) interruption = 'deadline';
      const interrupted: Interruption = interruption;

      if (outcome.kind === 'value') {
        // Whatever reached the deadline timed out, even if the code's own value was ready before.
        if (interrupted === 'deadline') return { ...base(), status: 'timed_out', timings };
        if (interrupted === 'output') return { ...base(), status: 'output_limit', timings };
        if (result === undefined) return { ...base(), status: 'succeeded', timings };
        return { ...base(), status: 'succeeded', result: truncate(result, limits.maxOutputBytes), timings };
      }
      const status = statusOf(outcome.error, interrupted, engine.memoryExhausted());
      if (status === 'failed') return { ...base(), status, error: outcome.error, timings };
      return { ...base(), status, timings };
    } catch (cause) {
      // The engine itself trapped (e.g. the native stack overflowed inside WebAssembly). Its state
      // can no longer be trusted; it is discarded with this execution anyway.
      const runMs = spentMs + performance.now() - runStarted;
      const error = engineTrapError(cause);
      return {
        ...base(),
        status:
          interruption === 'deadline' ? 'timed_out' : engine.memoryExhausted() ? 'out_of_memory' : 'failed',
        error,
        timings: { startMs: runStarted - started, runMs },
      };
    }
    // No `finally` frees the runtime and context: the whole instance (its linear memory with them)
    // is dropped after this one execution, and freeing a runtime whose promise jobs allocated many
    // objects trips an engine assertion (quickjs-emscripten 0.32, justjake/quickjs-emscripten#269)
    // that prints `Aborted(Assertion failed: list_empty(&rt->gc_obj_list)…)` to the host's stderr.
  }

  async close(): Promise<void> {
    const pending = this.next;
    this.next = undefined;
    await Promise.all([pending?.catch(() => undefined), stopSpareTransform()]);
  }

  /** Takes the prepared instance (or makes one) and starts preparing the one after it. */
  private async takeEngine(): Promise<Engine> {
    const current = this.next ?? newEngine();
    this.next = newEngine();
    // A failure to prepare surfaces when that instance is taken, not as an unhandled rejection.
    this.next.catch(() => undefined);
    try {
      return await current;
    } catch (cause) {
      this.next = undefined;
      throw cause;
    }
  }
}
