/**
 * What a verification reads, through the AuditChainStore port alone: an in-memory table, so these
 * run without DynamoDB (the DynamoDB adapter has its own tests).
 */
import { describe, expect, it } from 'vitest';
import { digestToItem, readRecordItem, recordToItem, type SignedDigest } from '../../lambda/audit/item.ts';
import { readRecentDigests, readWholeTable } from '../../lambda/audit/verify-snapshot.ts';
import type { AuditChainStore, AuditItem, StoredRecord } from '../../lambda/core/audit-chain.ts';
import { auditRecord } from './records.ts';

const T0 = new Date('2026-03-10T10:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000).toISOString();

function digest(sequence: number, periodStart: string, periodEnd: string): AuditItem {
  const body = { sequence, periodStart, periodEnd, parts: [] };
  return digestToItem({
    body,
    bodyJson: JSON.stringify(body),
    digestSha256: `sha-${sequence}`,
    signature: 'sig',
  } as unknown as SignedDigest);
}

/** A table in memory; counts the reads by key. */
function memoryTable(items: AuditItem[]) {
  const gets: string[] = [];
  const table: AuditChainStore = {
    tableName: 'memory',
    scanAll: async () => [...items],
    latestDigests: async (count) =>
      items
        .filter((i) => i.pk === 'digest')
        .sort((a, b) => String(b.sk).localeCompare(String(a.sk)))
        .slice(0, count),
    getItem: async (pk, sk) => {
      gets.push(`${pk}/${sk}`);
      return items.find((i) => i.pk === pk && i.sk === sk);
    },
    listWrittenBetween: async (from, to) =>
      items
        .filter((i) => i.itemType === 'record')
        .map((i) => readRecordItem(i))
        .flatMap((r) => (r.ok ? [r.stored] : []))
        .filter((s: StoredRecord) => s.writtenAt >= from.toISOString() && s.writtenAt < to.toISOString()),
    createdAt: async () => T0,
    putNew: async () => true,
  };
  return { table, gets };
}

const records = [
  recordToItem(auditRecord('exec-1', 'denied', new Date(at(1))), at(1), 1),
  recordToItem(auditRecord('exec-2', 'denied', new Date(at(6))), at(6), 1),
  recordToItem(auditRecord('exec-3', 'denied', new Date(at(11))), at(11), 1),
];
const digests = [digest(1, at(0), at(5)), digest(2, at(5), at(10)), digest(3, at(10), at(15))];
const part = { pk: 'dpart#000000000001', sk: 'a#0000', itemType: 'digestPart', entries: '[]' };

describe('readWholeTable', () => {
  it('sorts the digests by sequence and sorts every other item into records and parts', async () => {
    const { table } = memoryTable([
      digests[2],
      records[0],
      part,
      digests[0],
      records[1],
      digests[1],
    ] as AuditItem[]);
    const snapshot = await readWholeTable(table);

    expect(snapshot.fromGenesis).toBe(true);
    expect(snapshot.digests.map((d) => d.sk)).toEqual([
      'seq#000000000001',
      'seq#000000000002',
      'seq#000000000003',
    ]);
    expect([...snapshot.records.keys()]).toEqual(['exec-1\u0000denied', 'exec-2\u0000denied']);
    expect(await snapshot.getPart('dpart#000000000001', 'a#0000')).toBe(part);
    expect(await snapshot.getRecord('exec-9', 'denied')).toBeUndefined();
  });
});

describe('readRecentDigests', () => {
  it('reads the last n digests plus the one before, and the records written since the first checked period', async () => {
    const { table, gets } = memoryTable([...digests, ...records] as AuditItem[]);
    const snapshot = await readRecentDigests(table, 1, new Date(at(20)));

    expect(snapshot.fromGenesis).toBe(false);
    expect(snapshot.digests.map((d) => d.sk)).toEqual(['seq#000000000002', 'seq#000000000003']);
    expect([...snapshot.records.keys()]).toEqual(['exec-3\u0000denied']);
    expect(gets).toEqual(['exec#exec-3/denied']);
    // A record outside the window is read by key when a digest lists it.
    expect(await snapshot.getRecord('exec-1', 'denied')).toBe(records[0]);
  });

  it('checks from the first digest when the table holds no more than asked for', async () => {
    const { table } = memoryTable([...digests, ...records] as AuditItem[]);
    const snapshot = await readRecentDigests(table, 5, new Date(at(20)));

    expect(snapshot.fromGenesis).toBe(true);
    expect(snapshot.digests).toHaveLength(3);
    expect(snapshot.records.size).toBe(3);
  });
});
