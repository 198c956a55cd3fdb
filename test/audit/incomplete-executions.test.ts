import { describe, expect, it } from 'vitest';
import { findIncompleteExecutions, MAX_RUN_MS } from '../../lambda/audit/incomplete-executions.ts';
import { recordToItem } from '../../lambda/audit/item.ts';
import type { AuditEvent } from '../../lambda/core/audit-record.ts';
import { auditRecord } from './records.ts';

const T0 = new Date('2030-01-01T12:00:00.000Z');
const item = (id: string, event: AuditEvent, timeoutMs?: number) => {
  const r = auditRecord(id, event, T0);
  return recordToItem(
    timeoutMs === undefined ? r : { ...r, request: { ...r.request, timeoutMs } },
    T0.toISOString(),
    1,
  );
};
const at = (ms: number) => new Date(T0.getTime() + ms);

describe('findIncompleteExecutions', () => {
  it('names a started execution without an outcome only once its limit and the margin have passed', async () => {
    const records = [item('a', 'started', 10_000), item('b', 'started', 10_000), item('b', 'completed')];
    expect(await findIncompleteExecutions({ records, now: at(10_000 + 999), marginMs: 1000 })).toEqual([]);
    expect(await findIncompleteExecutions({ records, now: at(10_000 + 1001), marginMs: 1000 })).toEqual([
      { executionId: 'a', startedAt: T0.toISOString(), deadline: at(11_000).toISOString() },
    ]);
  });

  it("counts a denied record as the outcome, and uses the broker's 15 minutes when the record names no limit", async () => {
    const records = [item('c', 'started'), item('d', 'started'), item('d', 'denied')];
    expect(await findIncompleteExecutions({ records, now: at(MAX_RUN_MS), marginMs: 0 })).toEqual([]);
    const late = await findIncompleteExecutions({ records, now: at(MAX_RUN_MS + 1), marginMs: 0 });
    expect(late.map((e) => e.executionId)).toEqual(['c']);
  });

  it('looks an outcome up by key when the records are only a window of the table', async () => {
    const records = [item('e', 'started', 1000), item('f', 'started', 1000)];
    const asked: string[] = [];
    const lookup = async (executionId: string, event: string) => {
      asked.push(`${executionId}/${event}`);
      return executionId === 'e' && event === 'completed' ? item('e', 'completed') : undefined;
    };
    const found = await findIncompleteExecutions({ records, lookup, now: at(5000), marginMs: 0 });
    expect(found.map((e) => e.executionId)).toEqual(['f']);
    expect(asked).toEqual(['e/completed', 'f/completed', 'f/denied']);
  });
});
