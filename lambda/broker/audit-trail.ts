/**
 * Steps 4 and 9: writing audit records so that none is ever silently lost.
 *
 * - `started` must reach the store before anything runs; if it cannot, the caller gets a 503.
 * - `completed` and `denied` go to the store AND to the audit log. If the store write fails, the log line stands in for it and the caller is told the record is
 *   pending; if the log fails too, the record is written to the process's own error stream (the
 *   function's log group on AWS) as a last resort and counted.
 * - Every record is bounded first (`boundAuditRecord`): it fits a DynamoDB item and a CloudWatch
 *   event by construction, so no input can make a record too large to store.
 *
 * Each record is put once: the store adapters retry themselves (DynamoDbAuditStore: bounded, with a
 * per-attempt timeout, recognising its own write behind a lost response), and a second round here
 * would multiply the puts and could outlast API Gateway's 29 s before the 503.
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
  /** Last-resort sink for a record neither the store nor the log accepted. @default stderr */
  readonly fallback?: (line: string) => void;
}

export class AuditTrail {
  private readonly fallback: (line: string) => void;

  constructor(private readonly options: AuditTrailOptions) {
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

  /** Conditional put. Returns whether the store has the record (put now, or before a lost response). */
  private async put(record: AuditRecord): Promise<boolean> {
    try {
      await this.options.store.put(record);
      return true;
    } catch {
      return this.alreadyStored(record);
    }
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
    if (!(await this.put(record))) {
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
    const [stored, logged] = await Promise.all([this.put(record), this.writeLog(record)]);
    if (!stored) this.options.metrics.count(Metric.AuditWriteFailures, 1);
    if (!stored && !logged) {
      this.fallback(JSON.stringify({ level: 'ERROR', message: 'custody audit record pending', record }));
    }
    return { pending: !stored };
  }
}
