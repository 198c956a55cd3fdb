/**
 * The Lambda Extensions API as the runtime stand-in serves it (in a worker thread, so it answers
 * while the handler's module blocks the main thread, as Lambda's own server, another process,
 * would), on AWS_LAMBDA_RUNTIME_API inside the sandbox. What it emulates of Lambda's lifecycle
 * (docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html):
 *
 * - POST /2020-01-01/extension/register is accepted during init only; init ends when the runtime
 *   asks for its first invocation, and a registration after that is refused (403).
 * - GET /2020-01-01/extension/event/next tells Lambda the extension is done (with init, then with
 *   the last invocation), and answers with the next INVOKE event.
 * - Init and each invocation end (and the environment is frozen) only once the runtime and every
 *   registered extension have asked for their next event, or at the cap (the function's timeout).
 *
 * Messages from the main thread: {type: 'init-done'}, {type: 'invoke', requestId, deadlineMs},
 * {type: 'await-idle', id, capMs}. To it: {type: 'listening'}, {type: 'idle', id, waitedMs,
 * capped, extensions}.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';

const [host, port] = (process.env.AWS_LAMBDA_RUNTIME_API ?? '127.0.0.1:9001').split(':');
/** Registered extensions by identifier: name, and the response of a pending event/next. */
const extensions = new Map();
let initDone = false;
/** Callbacks waiting for every extension to have asked for its next event. */
let idleWaiters = [];

const json = (response, status, body, headers = {}) => {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
};

function allWaiting() {
  return [...extensions.values()].every((e) => e.pending !== undefined);
}

function checkIdle() {
  if (!allWaiting()) return;
  const waiters = idleWaiters;
  idleWaiters = [];
  for (const waiter of waiters) waiter(false);
}

const server = createServer((request, response) => {
  const url = request.url ?? '';
  if (request.method === 'POST' && url === '/2020-01-01/extension/register') {
    request.resume();
    request.on('end', () => {
      const name = request.headers['lambda-extension-name'];
      if (initDone) {
        json(response, 403, {
          errorType: 'Extension.RegistrationClosed',
          errorMessage: 'extensions register during init only',
        });
        return;
      }
      if (typeof name !== 'string' || name === '') {
        json(response, 400, { errorType: 'InvalidRequest', errorMessage: 'Lambda-Extension-Name missing' });
        return;
      }
      const id = randomUUID();
      extensions.set(id, { name, pending: undefined });
      json(
        response,
        200,
        {
          functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
          functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
          handler: process.env._HANDLER,
        },
        { 'lambda-extension-identifier': id },
      );
    });
    return;
  }
  if (request.method === 'GET' && url === '/2020-01-01/extension/event/next') {
    const extension = extensions.get(request.headers['lambda-extension-identifier']);
    if (!extension) {
      json(response, 403, { errorType: 'Extension.Unknown', errorMessage: 'unknown extension identifier' });
      return;
    }
    // An extension still busy when the invocation started (past the cap) gets its event now.
    if (extension.queued) {
      json(response, 200, extension.queued);
      extension.queued = undefined;
      return;
    }
    extension.pending = response;
    checkIdle();
    return;
  }
  json(response, 404, { errorType: 'NotFound', errorMessage: `${request.method} ${url}` });
});

parentPort.on('message', (message) => {
  if (message.type === 'init-done') {
    initDone = true;
  } else if (message.type === 'invoke') {
    const event = {
      eventType: 'INVOKE',
      deadlineMs: message.deadlineMs,
      requestId: message.requestId,
      invokedFunctionArn: message.invokedFunctionArn,
      tracing: { type: 'X-Amzn-Trace-Id', value: '' },
    };
    for (const extension of extensions.values()) {
      if (extension.pending) json(extension.pending, 200, event);
      else extension.queued = event;
      extension.pending = undefined;
    }
  } else if (message.type === 'await-idle') {
    const started = performance.now();
    let timer;
    const done = (capped) => {
      clearTimeout(timer);
      parentPort.postMessage({
        type: 'idle',
        id: message.id,
        waitedMs: performance.now() - started,
        capped,
        extensions: [...extensions.values()].map((e) => e.name),
      });
    };
    idleWaiters.push(done);
    timer = setTimeout(() => {
      idleWaiters = idleWaiters.filter((w) => w !== done);
      done(true);
    }, message.capMs);
    checkIdle();
  }
});

server.listen(Number(port), host, () => parentPort.postMessage({ type: 'listening' }));
