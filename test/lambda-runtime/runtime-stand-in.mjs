/**
 * A tiny stand-in for the Lambda Node.js runtime interface, run inside the sandbox as
 * /var/runtime/index.mjs. Like the real one it resolves `_HANDLER` (`index.handler`) in
 * LAMBDA_TASK_ROOT (index.js, index.mjs, index.cjs), imports it once (the init phase), then takes
 * invocations one at a time. Invocations arrive as JSON lines on stdin; answers leave as JSON
 * lines on fd 3, so the handler's own stdout and stderr stay what they are in Lambda: its logs.
 *
 *   in:  {"id": 1, "event": {...}, "deadlineMs": 1700000000000}
 *   out: {"type": "ready", "initMs": 812.4}                       (or "init-error")
 *        {"type": "result", "id": 1, "ok": true, "value": ..., "durationMs": 12.3}
 *        {"type": "result", "id": 1, "ok": false, "error": {"errorType", "errorMessage"}, "durationMs"}
 */
import { createWriteStream, existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const out = createWriteStream('', { fd: 3 });
const send = (message) => out.write(`${JSON.stringify(message)}\n`);
const errorOf = (error) => ({
  errorType: error instanceof Error ? error.name : typeof error,
  errorMessage: error instanceof Error ? error.message : String(error),
});

const taskRoot = process.env.LAMBDA_TASK_ROOT ?? '/var/task';
const [moduleName, functionName] = (process.env._HANDLER ?? '').split('.');
let handler;
try {
  const file = ['.js', '.mjs', '.cjs']
    .map((ext) => `${taskRoot}/${moduleName}${ext}`)
    .find((candidate) => existsSync(candidate));
  if (!file || !functionName)
    throw new Error(`Runtime.ImportModuleError: no ${process.env._HANDLER} in ${taskRoot}`);
  const module = await import(pathToFileURL(file).href);
  handler = module[functionName];
  if (typeof handler !== 'function') throw new Error(`Runtime.HandlerNotFound: ${process.env._HANDLER}`);
  // performance.now() counts from the process's start: runtime start-up plus the import.
  send({ type: 'ready', initMs: performance.now() });
} catch (error) {
  send({ type: 'init-error', error: errorOf(error), initMs: performance.now() });
  process.exitCode = 1;
}

if (handler) {
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const { id, event, deadlineMs } = JSON.parse(line);
    const context = {
      awsRequestId: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:111122223333:function:${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
    };
    const started = performance.now();
    try {
      const value = await handler(event, context);
      send({ type: 'result', id, ok: true, value, durationMs: performance.now() - started });
    } catch (error) {
      send({ type: 'result', id, ok: false, error: errorOf(error), durationMs: performance.now() - started });
    }
  }
}
