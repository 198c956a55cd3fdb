/**
 * The host bridge of a QuickJS execution: the prelude (`quickjs-prelude.ts`) is evaluated in the
 * context and handed the only host functions the code can reach, a stream writer and a file
 * writer, plus the input files and environment as JSON; it returns the `render` function that
 * turns the code's last value into text.
 */
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core';
import type { SandboxRequest } from '../core/types.ts';
import { datasetTextInputs } from './dataset-files.ts';
import { PRELUDE_FILENAME, PRELUDE_SOURCE } from './quickjs-prelude.ts';

/** What the prelude's writers do on the host side. */
export interface HostWriters {
  write: (stream: number, text: string) => void;
  /** Returns why the file was refused, or undefined once it is kept. */
  writeFile: (name: string, content: string) => string | undefined;
}

/** Evaluates the prelude and calls it with the host writers; returns the `render` function handle. */
export function installPrelude(
  ctx: QuickJSContext,
  request: SandboxRequest,
  host: HostWriters,
): QuickJSHandle {
  const write = ctx.newFunction('write', (streamHandle, textHandle) => {
    host.write(ctx.getNumber(streamHandle), ctx.getString(textHandle));
  });
  const writeFile = ctx.newFunction('writeFile', (nameHandle, contentHandle) => {
    const problem = host.writeFile(ctx.getString(nameHandle), ctx.getString(contentHandle));
    if (problem) return { error: ctx.newError({ name: 'Error', message: problem }) };
    return undefined;
  });
  // #16: dataset objects join the inputs under `/data/<name>/<key>` (input names are relative).
  const inputs = ctx.newString(JSON.stringify({ ...request.files, ...datasetTextInputs(request.datasets) }));
  const env = ctx.newString(JSON.stringify(request.env ?? {}));
  const factory = ctx.unwrapResult(ctx.evalCode(PRELUDE_SOURCE, PRELUDE_FILENAME, { strict: true }));
  try {
    return ctx.unwrapResult(ctx.callFunction(factory, ctx.undefined, write, writeFile, inputs, env));
  } finally {
    for (const handle of [factory, write, writeFile, inputs, env]) handle.dispose();
  }
}

/** Renders the last value with the prelude's `render` (user code: it runs inside the clock). */
export function renderValue(
  ctx: QuickJSContext,
  render: QuickJSHandle,
  value: QuickJSHandle,
): string | undefined {
  const rendered = ctx.callFunction(render, ctx.undefined, value);
  value.dispose();
  if (rendered.error) {
    rendered.error.dispose();
    return undefined;
  }
  const text = ctx.typeof(rendered.value) === 'string' ? ctx.getString(rendered.value) : undefined;
  rendered.value.dispose();
  return text;
}
