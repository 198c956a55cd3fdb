/**
 * The host bridge of a QuickJS execution: the prelude (`quickjs-prelude.ts`) is evaluated in the
 * context and handed the only host functions the code can reach, a stream writer, a file writer,
 * and the byte calls (read an input's bytes, write an output's bytes), plus the input files' text
 * and the environment as JSON; it returns the `render` function that turns the code's last value
 * into text.
 */
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core';
import { type FileValue, fileBytesOf, fileMap, fileOf } from '../core/file-map.ts';
import type { SandboxRequest } from '../core/types.ts';
import { datasetTextInputs } from './dataset-files.ts';
import { PRELUDE_FILENAME, PRELUDE_SOURCE } from './quickjs-prelude.ts';

/** What the prelude's writers do on the host side. */
export interface HostWriters {
  write: (stream: number, text: string) => void;
  /** Returns why the file was refused, or undefined once it is kept. */
  writeFile: (name: string, content: FileValue) => string | undefined;
}

/** The host functions behind `files.readBytes` and `files.writeBytes` (#16), created in `ctx`. */
function byteFunctions(ctx: QuickJSContext, request: SandboxRequest, host: HostWriters) {
  const inputs = request.files ?? fileMap();
  const readBytes = ctx.newFunction('readBytes', (nameHandle) => {
    const name = ctx.getString(nameHandle);
    const value = fileOf(inputs, name);
    if (value === undefined) {
      return {
        error: ctx.newError({ name: 'Error', message: `no input file named ${JSON.stringify(name)}` }),
      };
    }
    // A copy of exactly the bytes (a Buffer's slice is a view of a shared pool).
    return ctx.newArrayBuffer(new Uint8Array(fileBytesOf(value)).buffer);
  });
  const writeBytes = ctx.newFunction('writeBytes', (nameHandle, bufferHandle) => {
    let bytes: Uint8Array;
    try {
      bytes = ctx.getArrayBuffer(bufferHandle).consume((view) => view.value.slice());
    } catch {
      return {
        error: ctx.newError({ name: 'TypeError', message: 'files.writeBytes: content must be a Uint8Array' }),
      };
    }
    const problem = host.writeFile(ctx.getString(nameHandle), bytes);
    if (problem) return { error: ctx.newError({ name: 'Error', message: problem }) };
    return undefined;
  });
  return { readBytes, writeBytes };
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
  const { readBytes, writeBytes } = byteFunctions(ctx, request, host);
  // Text inputs as text; a binary input as null (the prelude's `files.read` says to use readBytes).
  // #16: dataset objects join the inputs under `/data/<name>/<key>` (input names are relative).
  const texts = fileMap<string | null>([
    ...Object.entries(request.files ?? {}).map(([name, value]): [string, string | null] => [
      name,
      typeof value === 'string' ? value : null,
    ]),
    ...Object.entries(datasetTextInputs(request.datasets)),
  ]);
  const inputs = ctx.newString(JSON.stringify(texts));
  const env = ctx.newString(JSON.stringify(request.env ?? {}));
  const factory = ctx.unwrapResult(ctx.evalCode(PRELUDE_SOURCE, PRELUDE_FILENAME, { strict: true }));
  const handles = [factory, write, writeFile, readBytes, writeBytes, inputs, env];
  try {
    return ctx.unwrapResult(
      ctx.callFunction(factory, ctx.undefined, write, writeFile, readBytes, writeBytes, inputs, env),
    );
  } finally {
    for (const handle of handles) handle.dispose();
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
