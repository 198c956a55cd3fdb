/**
 * A tiny stand-in for the Lambda Node.js runtime interface, run inside the sandbox as
 * /var/runtime/index.mjs. Like the real one it resolves `_HANDLER` (`index.handler`) in
 * LAMBDA_TASK_ROOT (index.js, index.mjs, index.cjs), imports it once (the init phase), then takes
 * invocations one at a time. Invocations arrive as JSON lines on stdin; answers leave as JSON
 * lines on fd 3, so the handler's own stdout and stderr stay what they are in Lambda: its logs.
 * It serves the Extensions API on AWS_LAMBDA_RUNTIME_API (extensions-api.mjs): init and each
 * invocation end only once every registered extension has asked for its next event.
 *
 *   in:  {"id": 1, "event": {...}, "deadlineMs": 1700000000000}
 *        {"id": 2, "probe": "register"}       (registers an extension now: refused after init)
 *   out: {"type": "ready", "initMs": 812.4, "importMs", "extensionsWaitMs", "extensions": [...]}
 *                                                                  (or "init-error")
 *        {"type": "result", "id": 1, "ok": true, "value": ..., "durationMs": 12.3}
 *        {"type": "result", "id": 1, "ok": false, "error": {"errorType", "errorMessage"}, "durationMs"}
 *        {"type": "idle", "id": 1, "waitedMs", "capped", "extensions"}  (the freeze may follow)
 *        {"type": "probe", "id": 2, "status": 403}
 *
 * EMULATION_INIT_ENDS_BEFORE_HANDLER=1 ends init before the handler's module loads, so its
 * registration comes after init, as one that is not awaited at the module's top level would.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const out = createWriteStream('', { fd: 3 });
const send = (message) => out.write(`${JSON.stringify(message)}\n`);
const errorOf = (error) => ({
  errorType: error instanceof Error ? error.name : typeof error,
  errorMessage: error instanceof Error ? error.message : String(error),
});

const api = new Worker(new URL('./extensions-api.mjs', import.meta.url));
api.once('error', (error) => {
  send({ type: 'init-error', error: errorOf(error), initMs: performance.now() });
  process.exit(1);
});
const fromApi = (type, id) =>
  new Promise((resolve) => {
    const listener = (message) => {
      if (message.type !== type || message.id !== id) return;
      api.off('message', listener);
      resolve(message);
    };
    api.on('message', listener);
  });
await fromApi('listening', undefined);
/** Resolves once every registered extension has asked for its next event, or at the cap. */
const extensionsIdle = (id, capMs) => {
  const idle = fromApi('idle', id);
  api.postMessage({ type: 'await-idle', id, capMs });
  return idle;
};
/** Lambda's limit on an on-demand function's init phase. */
const INIT_CAP_MS = 10_000;

const taskRoot = process.env.LAMBDA_TASK_ROOT ?? '/var/task';
const functionArn = `arn:aws:lambda:${process.env.AWS_REGION}:111122223333:function:${process.env.AWS_LAMBDA_FUNCTION_NAME}`;
const [moduleName, functionName] = (process.env._HANDLER ?? '').split('.');
let handler;
try {
  const file = ['.js', '.mjs', '.cjs']
    .map((ext) => `${taskRoot}/${moduleName}${ext}`)
    .find((candidate) => existsSync(candidate));
  if (!file || !functionName)
    throw new Error(`Runtime.ImportModuleError: no ${process.env._HANDLER} in ${taskRoot}`);
  if (process.env.EMULATION_INIT_ENDS_BEFORE_HANDLER === '1') api.postMessage({ type: 'init-done' });
  const module = await import(pathToFileURL(file).href);
  handler = module[functionName];
  if (typeof handler !== 'function') throw new Error(`Runtime.HandlerNotFound: ${process.env._HANDLER}`);
  // performance.now() counts from the process's start: runtime start-up plus the import.
  const importMs = performance.now();
  // The runtime asks for its first invocation: init ends once every extension has done so too.
  api.postMessage({ type: 'init-done' });
  const idle = await extensionsIdle(0, INIT_CAP_MS);
  // From here stdin keeps the runtime up; the API's server must not once stdin has ended.
  api.unref();
  send({
    type: 'ready',
    initMs: performance.now(),
    importMs,
    extensionsWaitMs: idle.waitedMs,
    extensionsCapped: idle.capped,
    extensions: idle.extensions,
  });
} catch (error) {
  send({ type: 'init-error', error: errorOf(error), initMs: performance.now() });
  process.exitCode = 1;
  api.unref();
}

if (handler) {
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const { id, event, deadlineMs, probe } = JSON.parse(line);
    if (probe === 'register') {
      const response = await fetch(
        `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2020-01-01/extension/register`,
        {
          method: 'POST',
          headers: { 'Lambda-Extension-Name': 'emulation-probe' },
          body: '{"events":["INVOKE"]}',
        },
      );
      await response.arrayBuffer();
      send({ type: 'probe', id, status: response.status });
      continue;
    }
    const context = {
      awsRequestId: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      invokedFunctionArn: functionArn,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
    };
    const requestId = context.awsRequestId;
    api.postMessage({ type: 'invoke', requestId, deadlineMs, invokedFunctionArn: functionArn });
    const started = performance.now();
    try {
      const value = await handler(event, context);
      send({ type: 'result', id, ok: true, value, durationMs: performance.now() - started });
    } catch (error) {
      send({ type: 'result', id, ok: false, error: errorOf(error), durationMs: performance.now() - started });
    }
    // The response is out; the environment is frozen once every extension is done as well.
    const idle = await extensionsIdle(id, Math.max(0, deadlineMs - Date.now()));
    send({ type: 'idle', id, waitedMs: idle.waitedMs, capped: idle.capped, extensions: idle.extensions });
  }
}
