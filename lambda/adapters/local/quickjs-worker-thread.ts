/**
 * The worker thread of `quickjs-worker.ts`: runs each JavaScript or TypeScript execution it is
 * sent in the project's QuickJsSandbox (a fresh WebAssembly instance and memory each), and posts
 * back the result, or the message of an infrastructure failure. It is sent one execution at a time,
 * already JavaScript (the TypeScript transform runs in the server's thread), with the time that
 * transform spent, which the sandbox takes from the deadline.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { SandboxRequest } from '../../core/types.ts';
import { QuickJsSandbox, type QuickJsSandboxOptions, type RunScope } from '../../sandbox/quickjs-sandbox.ts';

const port = parentPort;
if (port === null) throw new Error('quickjs-worker-thread.ts runs only as a worker thread');
const sandbox = new QuickJsSandbox((workerData ?? {}) as QuickJsSandboxOptions);

interface Message {
  readonly id: number;
  readonly request: SandboxRequest;
  readonly spentMs?: number;
  /** The run's profile, and `prepared` (the transform already ran in the server's thread). */
  readonly scope?: RunScope;
}

port.on('message', (message: Message) => {
  sandbox.run(message.request, message.spentMs ?? 0, message.scope ?? { prepared: { imports: false } }).then(
    (result) => port.postMessage({ id: message.id, result }),
    (error: unknown) =>
      port.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
