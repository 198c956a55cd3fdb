/**
 * The executor side of bench/freeze-emulation.ts: imports the handler (Lambda's init), then runs
 * one invocation per message and reports the handler's duration.
 */
const initStarted = performance.now();
const { handler, closeExecutorSandbox } = await import('../lambda/handlers/executor.ts');
const send = (message: unknown) => process.send?.(message);
send({ t: 'init', initMs: performance.now() - initStarted });

let count = 0;
process.on('message', async (message: { t: 'run'; code: string } | { t: 'exit' }) => {
  if (message.t === 'exit') {
    await closeExecutorSandbox();
    process.exit(0);
  }
  count += 1;
  const started = performance.now();
  const result = await handler({
    executionId: `emu-${count}`,
    language: 'python',
    code: message.code,
    limits: { timeoutMs: 30_000, memoryMiB: 256, maxOutputBytes: 65_536 },
  });
  send({
    t: 'done',
    ms: performance.now() - started,
    status: result.status,
    startMs: result.timings.startMs,
  });
});
