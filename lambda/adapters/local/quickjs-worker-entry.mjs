// The entry of the local server's JavaScript worker thread (quickjs-worker.ts). The sources are
// TypeScript and a worker thread does not inherit the main thread's tsx loader, so it registers
// its own before importing them.
import { register } from 'tsx/esm/api';

register();
await import('./quickjs-worker-thread.ts');
