/**
 * Admission in front of a sandbox: bounded queues, served round-robin by key (the caller), with
 * a cap on how many slots one key holds.
 *
 * Tasks run at most `concurrency` at a time. A task that cannot start waits in its key's queue;
 * when a slot frees, of the keys under their own cap the one served longest ago (or never) starts
 * its oldest task. By default one key holds at most `concurrency - 1` slots, so with
 * two or more slots one stays free for any other caller: one caller's busy loops delay another
 * caller's run by nothing, not by a deadline per loop queued ahead of it. The local executor gives
 * each sandbox one slot per core plus one, so a lone caller still has every core.
 *
 * The queues are bounded, per key and in all; a task that would pass a bound is refused with a
 * ThrottledError (429 THROTTLED, as the executor Lambda's own concurrency limit answers on AWS),
 * which the broker records in the audit trail like any executor failure.
 */
import { ThrottledError } from '../../core/errors.ts';

export interface FairQueueOptions {
  /** What the queue admits to, for messages (e.g. "JavaScript and TypeScript"). */
  readonly name: string;
  /** Tasks running at once. */
  readonly concurrency: number;
  /** Tasks one key runs at once. @default Math.max(1, concurrency - 1) */
  readonly maxRunningPerKey?: number;
  /** Tasks one key may have waiting. @default 32 */
  readonly maxWaitingPerKey?: number;
  /** Tasks waiting in all. @default 128 */
  readonly maxWaiting?: number;
}

interface Waiting {
  readonly start: () => void;
}

export class FairQueue {
  readonly concurrency: number;
  private readonly maxRunningPerKey: number;
  private readonly maxWaitingPerKey: number;
  private readonly maxWaiting: number;
  private running = 0;
  private readonly runningByKey = new Map<string, number>();
  /** Keys with waiting tasks, in the order they first waited (a Map keeps insertion order). */
  private readonly waiting = new Map<string, Waiting[]>();
  /** When each key with tasks running or waiting last started one (a sequence number). */
  private readonly lastServed = new Map<string, number>();
  private served = 0;
  private waitingCount = 0;

  constructor(private readonly options: FairQueueOptions) {
    this.concurrency = positive('concurrency', options.concurrency);
    this.maxRunningPerKey = positive(
      'maxRunningPerKey',
      options.maxRunningPerKey ?? Math.max(1, this.concurrency - 1),
    );
    this.maxWaitingPerKey = nonNegative('maxWaitingPerKey', options.maxWaitingPerKey ?? 32);
    this.maxWaiting = nonNegative('maxWaiting', options.maxWaiting ?? 128);
  }

  /** Tasks waiting now (all keys). */
  get queued(): number {
    return this.waitingCount;
  }

  /** Runs `task` when `key`'s turn comes; throws ThrottledError at once if its queue is full. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.served += 1;
        this.lastServed.set(key, this.served);
        this.running += 1;
        this.runningByKey.set(key, (this.runningByKey.get(key) ?? 0) + 1);
        let settled: Promise<T>;
        try {
          settled = task();
        } catch (error) {
          settled = Promise.reject(error);
        }
        settled.then(resolve, reject).finally(() => {
          this.running -= 1;
          const left = (this.runningByKey.get(key) ?? 1) - 1;
          if (left === 0) this.runningByKey.delete(key);
          else this.runningByKey.set(key, left);
          if (left === 0 && !this.waiting.has(key)) this.lastServed.delete(key);
          this.pump();
        });
      };
      // After every pump no waiting task could start, so a free slot means this one can, unless
      // its own key is at its cap (then it waits behind its key's earlier tasks).
      if (this.running < this.concurrency && (this.runningByKey.get(key) ?? 0) < this.maxRunningPerKey) {
        start();
        return;
      }
      const queue = this.waiting.get(key) ?? [];
      if (queue.length >= this.maxWaitingPerKey) {
        reject(
          new ThrottledError(
            `The ${this.options.name} queue of this caller is full (${queue.length} executions waiting); retry the request later.`,
          ),
        );
        return;
      }
      if (this.waitingCount >= this.maxWaiting) {
        reject(
          new ThrottledError(
            `The ${this.options.name} queue is full (${this.waitingCount} executions waiting); retry the request later.`,
          ),
        );
        return;
      }
      queue.push({ start });
      this.waiting.set(key, queue);
      this.waitingCount += 1;
    });
  }

  /** Starts waiting tasks while slots are free, each from the eligible key served longest ago. */
  private pump(): void {
    while (this.running < this.concurrency) {
      let next: { key: string; queue: Waiting[]; servedAt: number } | undefined;
      for (const [key, queue] of this.waiting) {
        if ((this.runningByKey.get(key) ?? 0) >= this.maxRunningPerKey) continue;
        const servedAt = this.lastServed.get(key) ?? 0;
        if (!next || servedAt < next.servedAt) next = { key, queue, servedAt };
      }
      if (!next) return;
      const task = next.queue.shift() as Waiting;
      this.waitingCount -= 1;
      if (next.queue.length === 0) this.waiting.delete(next.key);
      task.start();
    }
  }
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, not ${value}`);
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, not ${value}`);
  }
  return value;
}
