/**
 * Completeness of the audit trail: every `started` record must be followed by an outcome
 * (`completed` or `denied`) once the run's deadline has passed — its `timestamp` plus the time limit
 * it carries (`request.timeoutMs`; the broker Lambda's 15 minutes when absent) plus a margin. One
 * without is reported by `audit verify` as INCOMPLETE: the outcome was lost, or reached only the
 * audit log and awaits reconciliation (`reconcile.ts`). Not tampering: the digests judge that.
 */

import type { AuditRecord } from '../core/audit-record.ts';
import { type AuditItem, recordIdOf, str } from './item.ts';

/** A `started` record with no outcome after its deadline. */
export interface IncompleteExecution {
  readonly executionId: string;
  readonly startedAt: string;
  /** `startedAt` + the run's time limit (`request.timeoutMs`, else the broker's 15 min) + the margin. */
  readonly deadline: string;
}

/** A run's limit when its started record does not say (the broker Lambda's longest life). */
export const MAX_RUN_MS = 900_000;

export interface FindIncompleteOptions {
  /** Record items (all of the table, or those of a window). */
  readonly records: Iterable<AuditItem>;
  /** Reads an outcome missing from `records` (a window may not hold it); absent: `records` is the whole table. */
  readonly lookup?: (executionId: string, event: string) => Promise<AuditItem | undefined>;
  readonly now: Date;
  readonly marginMs: number;
}

/** Started records with no outcome although their deadline has passed, oldest first. */
export async function findIncompleteExecutions(
  options: FindIncompleteOptions,
): Promise<IncompleteExecution[]> {
  const items = [...options.records];
  const events = new Map<string, Set<string>>();
  for (const item of items) {
    const { executionId, event } = recordIdOf(item);
    let seen = events.get(executionId);
    if (seen === undefined) {
      seen = new Set();
      events.set(executionId, seen);
    }
    seen.add(event);
  }
  const found: IncompleteExecution[] = [];
  for (const item of items) {
    const { executionId, event } = recordIdOf(item);
    if (event !== 'started') continue;
    const seen = events.get(executionId);
    if (seen?.has('completed') || seen?.has('denied')) continue;
    let record: Partial<AuditRecord>;
    try {
      record = JSON.parse(str(item, 'record') ?? '') as Partial<AuditRecord>;
    } catch {
      continue; // an unreadable record is the chain check's finding (modified)
    }
    const startedMs = Date.parse(record.timestamp ?? '');
    if (Number.isNaN(startedMs)) continue;
    const limitMs = record.request?.timeoutMs;
    const runMs = typeof limitMs === 'number' && limitMs > 0 ? Math.min(limitMs, MAX_RUN_MS) : MAX_RUN_MS;
    const deadline = startedMs + runMs + options.marginMs;
    if (deadline >= options.now.getTime()) continue;
    if (options.lookup !== undefined) {
      const outcome =
        (await options.lookup(executionId, 'completed')) ?? (await options.lookup(executionId, 'denied'));
      if (outcome !== undefined) continue;
    }
    found.push({
      executionId,
      startedAt: new Date(startedMs).toISOString(),
      deadline: new Date(deadline).toISOString(),
    });
  }
  return found.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}
