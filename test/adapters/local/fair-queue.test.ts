/** Admission in front of a local sandbox: bounded, round-robin by caller, one slot kept for others. */
import { describe, expect, it } from 'vitest';
import { FairQueue } from '../../../lambda/adapters/local/fair-queue.ts';
import { ThrottledError } from '../../../lambda/core/errors.ts';

interface Deferred {
  readonly promise: Promise<string>;
  resolve(value: string): void;
  reject(error: Error): void;
}
function deferred(): Deferred {
  let resolve: (value: string) => void = () => undefined;
  let reject: (error: Error) => void = () => undefined;
  const promise = new Promise<string>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A queue whose tasks are deferred promises; `started` lists the labels in the order they started. */
function harness(options: ConstructorParameters<typeof FairQueue>[0]) {
  const queue = new FairQueue(options);
  const started: string[] = [];
  const tasks = new Map<string, Deferred>();
  const submit = (key: string, label: string) => {
    const task = deferred();
    tasks.set(label, task);
    const result = queue.run(key, () => {
      started.push(label);
      return task.promise;
    });
    result.catch(() => undefined);
    return result;
  };
  /** Lets the settled task's `finally` and the next start run. */
  const settle = async (label: string) => {
    tasks.get(label)?.resolve(label);
    for (let i = 0; i < 5; i += 1) await Promise.resolve();
  };
  return { queue, started, submit, settle };
}

describe('FairQueue', () => {
  it('runs at most its concurrency at once, and the next when one ends', async () => {
    const { started, submit, settle } = harness({ name: 'test', concurrency: 2, maxRunningPerKey: 2 });
    const a1 = submit('a', 'a1');
    submit('b', 'b1');
    submit('c', 'c1');
    expect(started).toEqual(['a1', 'b1']);
    await settle('a1');
    expect(await a1).toBe('a1');
    expect(started).toEqual(['a1', 'b1', 'c1']);
  });

  it('serves callers in turn: a caller with many runs queued does not go before one with one', async () => {
    const { started, submit, settle } = harness({ name: 'test', concurrency: 1 });
    for (const label of ['a1', 'a2', 'a3', 'a4']) submit('a', label);
    submit('b', 'b1');
    submit('c', 'c1');
    await settle('a1');
    await settle('b1');
    await settle('c1');
    await settle('a2');
    expect(started).toEqual(['a1', 'b1', 'c1', 'a2', 'a3']);
  });

  it('keeps one slot for other callers: a caller running busy work cannot hold them all', async () => {
    const { started, submit, queue } = harness({ name: 'test', concurrency: 2 });
    for (const label of ['a1', 'a2', 'a3']) submit('a', label);
    expect(started).toEqual(['a1']);
    submit('b', 'b1');
    expect(started).toEqual(['a1', 'b1']);
    expect(queue.queued).toBe(2);
  });

  it("refuses a run past a caller's queue bound with THROTTLED, and never runs it", async () => {
    const { started, submit } = harness({ name: 'Python', concurrency: 1, maxWaitingPerKey: 2 });
    submit('a', 'a1');
    submit('a', 'a2');
    submit('a', 'a3');
    const refused = submit('a', 'a4');
    await expect(refused).rejects.toBeInstanceOf(ThrottledError);
    await expect(refused).rejects.toThrow(/Python queue of this caller is full \(2 executions waiting\)/);
    // Another caller still has room.
    submit('b', 'b1');
    expect(started).toEqual(['a1']);
  });

  it('refuses a run past the bound of all queues with THROTTLED', async () => {
    const { submit } = harness({ name: 'test', concurrency: 1, maxWaiting: 2 });
    submit('a', 'a1');
    submit('b', 'b1');
    submit('c', 'c1');
    const refused = submit('d', 'd1');
    await expect(refused).rejects.toMatchObject({ code: 'THROTTLED', httpStatus: 429 });
    await expect(refused).rejects.toThrow(/test queue is full \(2 executions waiting\)/);
  });

  it('charges a failure to its own run only, and frees its slot', async () => {
    const queue = new FairQueue({ name: 'test', concurrency: 1 });
    const failing = queue.run('a', () => Promise.reject(new Error('this run broke')));
    const thrown = queue.run('b', () => {
      throw new Error('thrown before a promise');
    });
    const next = queue.run('c', async () => 'ran');
    await expect(failing).rejects.toThrow('this run broke');
    await expect(thrown).rejects.toThrow('thrown before a promise');
    expect(await next).toBe('ran');
  });

  it('refuses nonsense bounds with a message naming them', () => {
    expect(() => new FairQueue({ name: 'test', concurrency: 0 })).toThrow(
      /concurrency must be a positive integer/,
    );
    expect(() => new FairQueue({ name: 'test', concurrency: 1, maxWaiting: -1 })).toThrow(/maxWaiting/);
  });
});
