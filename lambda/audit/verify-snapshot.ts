/**
 * What a verification reads from the audit table (`AuditChainStore`): the whole table for the
 * full check (so even a forged item no index holds is seen), or the last digests and the records
 * written since for the recent check (the byTime index, each record then read by key).
 */
import type { AuditChainStore, AuditItem } from '../core/audit-chain.ts';
import { AUDIT_TABLE } from '../core/audit-table.ts';
import { isDigestItem, isRecordItem, RECORD_PK_PREFIX, readDigestItem, recordIdOf, str } from './item.ts';

/** Records dated this far after now are still read (and then reported as dated in the future). */
export const FUTURE_TOLERANCE_MS = 300_000;

const SEP = '\u0000';

export interface Snapshot {
  /** Digest head items, oldest first. */
  readonly digests: AuditItem[];
  /** Record items known up front (all of them for a full check). */
  readonly records: Map<string, AuditItem>;
  getRecord(executionId: string, event: string): Promise<AuditItem | undefined>;
  getPart(pk: string, sk: string): Promise<AuditItem | undefined>;
  /** True if `digests[0]` must be the first digest ever (full check). */
  readonly fromGenesis: boolean;
}

export function entryKey(executionId: string, event: string): string {
  return `${executionId}${SEP}${event}`;
}

export function itemKey(item: AuditItem): string {
  const { executionId, event } = recordIdOf(item);
  return entryKey(executionId, event);
}

/** The whole table, read once. */
export async function readWholeTable(table: AuditChainStore): Promise<Snapshot> {
  const digests: AuditItem[] = [];
  const records = new Map<string, AuditItem>();
  const parts = new Map<string, AuditItem>();
  for (const item of await table.scanAll()) {
    if (isRecordItem(item)) records.set(itemKey(item), item);
    else if (isDigestItem(item)) digests.push(item);
    else parts.set(`${str(item, AUDIT_TABLE.partitionKey)}${SEP}${str(item, AUDIT_TABLE.sortKey)}`, item);
  }
  digests.sort((a, b) =>
    (str(a, AUDIT_TABLE.sortKey) ?? '').localeCompare(str(b, AUDIT_TABLE.sortKey) ?? ''),
  );
  return {
    digests,
    records,
    fromGenesis: true,
    getRecord: async (executionId, event) => records.get(entryKey(executionId, event)),
    getPart: async (pk, sk) => parts.get(`${pk}${SEP}${sk}`),
  };
}

/** The last `count` digests (plus the one before, which anchors the chain) and the records written since. */
export async function readRecentDigests(table: AuditChainStore, count: number, now: Date): Promise<Snapshot> {
  // One more than checked: the predecessor anchors the first checked digest's link.
  const digests = (await table.latestDigests(Math.max(1, count) + 1)).reverse();
  const fromGenesis = digests.length <= count;
  const first = digests[fromGenesis ? 0 : 1];
  const firstRead = first === undefined ? undefined : readDigestItem(first);
  const from = firstRead?.ok === true ? new Date(firstRead.digest.body.periodStart) : new Date(0);
  const records = new Map<string, AuditItem>();
  if (first !== undefined || !fromGenesis) {
    for (const stored of await table.listWrittenBetween(
      from,
      new Date(now.getTime() + FUTURE_TOLERANCE_MS),
    )) {
      const item = await table.getItem(
        `${RECORD_PK_PREFIX}${stored.record.executionId}`,
        stored.record.event,
      );
      if (item !== undefined) records.set(itemKey(item), item);
    }
  }
  return {
    digests,
    records,
    fromGenesis,
    getRecord: async (executionId, event) =>
      records.get(entryKey(executionId, event)) ?? table.getItem(`${RECORD_PK_PREFIX}${executionId}`, event),
    getPart: (pk, sk) => table.getItem(pk, sk),
  };
}
