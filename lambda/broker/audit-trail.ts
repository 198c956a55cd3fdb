/**
 * Steps 4 and 9: writing audit records so that none is ever silently lost.
 *
 * - `started` must reach the store before anything runs; if it cannot, the caller gets a 503.
 * - `completed` and `denied` go to the store with bounded retries AND to the audit log. If the
 *   store write still fails, the log line stands in for it and the caller is told the record is
 *   pending; if the log fails too, the record is written to the process's own error stream (the
 *   function's log group on AWS) as a last resort and counted.
 * - Every record is bounded first (`boundAuditRecord`): it fits a DynamoDB item and a CloudWatch
 *   event by construction, so no input can make a record too large to store.
 */

import { boundAuditRecord } from '../core/audit-bounds.ts';
import type { AuditRecord } from '../core/audit-record.ts';
import { DependencyError } from '../core/errors.ts';
import { Metric } from '../core/metrics.ts';
import type { MetricsSink } from '../core/metrics-sink.ts';
import type { AuditLog, AuditStore } from '../core/ports.ts';

export interface AuditTrailOptions {
  readonly store: AuditStore;
  readonly log: AuditLog;
  readonly metrics: MetricsSink;
  /** @default 3 */
  readonly attempts?: number;
  /** @default 50 */
  readonly baseDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Last-resort sink for a record neither the store nor the log accepted. @default stderr */
  readonly fallback?: (line: string) => void;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class AuditTrail {
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly fallback: (line: string) => void;

  constructor(private readonly options: AuditTrailOptions) {
    this.attempts = Math.max(1, options.attempts ?? 3);
    this.baseDelayMs = options.baseDelayMs ?? 50;
    this.sleep = options.sleep ?? defaultSleep;
    this.fallback = options.fallback ?? ((line) => process.stderr.write(`${line}\n`));
  }

  /** Whether the store already holds this event (a write that timed out may still have happened). */
  private async alreadyStored(record: AuditRecord): Promise<boolean> {
    try {
      const stored = await this.options.store.get(record.executionId);
      return stored.some((r) => r.event === record.event);
    } catch {
      return false;
    }
  }

  /** Conditional put with bounded retries and full jitter. Returns whether the store has the record. */
  private async putWithRetries(record: AuditRecord): Promise<boolean> {
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        await this.options.store.put(record);
        return true;
      } catch {
        if (await this.alreadyStored(record)) return true;
        if (attempt < this.attempts) await this.sleep(Math.random() * this.baseDelayMs * 2 ** (attempt - 1));
      }
    }
    return false;
  }

  private async writeLog(record: AuditRecord): Promise<boolean> {
    try {
      await this.options.log.write(record);
      return true;
    } catch {
      this.options.metrics.count(Metric.AuditWriteFailures, 1);
      return false;
    }
  }

  /**
   * Writes the `started` record to the store; throws DependencyError('audit') if the store did not
   * take it. Then queues its log line, and returns once the store has it: `logged` settles when the
   * line is written (or has failed and been counted). The caller awaits it before it responds, so
   * the line is in the log before the answer, and ahead of the final record's line.
   */
  async start(unbounded: AuditRecord): Promise<{ logged: Promise<boolean> }> {
    const record = boundAuditRecord(unbounded);
    if (!(await this.putWithRetries(record))) {
      this.options.metrics.count(Metric.AuditWriteFailures, 1);
      throw new DependencyError('audit', 'The audit store is unavailable; nothing was run.');
    }
    return { logged: this.writeLog(record) };
  }

  /**
   * Writes a refusal to the log only, for a request whose `started` record the store has just
   * refused: trying the store again would double the wait (on AWS past API Gateway's 29 s) for a
   * write that has just failed. The record is pending: `custody audit reconcile` copies it into
   * the table from its log line. If the log fails too, the fallback takes it.
   */
  async refuseInLog(unbounded: AuditRecord): Promise<{ pending: true }> {
    const record = boundAuditRecord(unbounded);
    if (!(await this.writeLog(record))) {
      this.fallback(JSON.stringify({ level: 'ERROR', message: 'custody audit record pending', record }));
    }
    return { pending: true };
  }

  /**
   * Writes a final record (`completed` or `denied`) to the store and the log.
   * Returns `pending: true` when the store did not take it (the log, or the fallback, has it).
   */
  async finish(unbounded: AuditRecord): Promise<{ pending: boolean }> {
    const record = boundAuditRecord(unbounded);
    const [stored, logged] = await Promise.all([this.putWithRetries(record), this.writeLog(record)]);
    if (!stored) this.options.metrics.count(Metric.AuditWriteFailures, 1);
    if (!stored && !logged) {
      this.fallback(JSON.stringify({ level: 'ERROR', message: 'custody audit record pending', record }));
    }
    return { pending: !stored };
  }
}
