/**
 * Verification of the records one digest covers: each listed record present, unchanged (content,
 * hash and index attributes) and in its place, and no record written in the period left out.
 */
import type { AuditItem } from '../core/audit-chain.ts';
import type { AuditRecord } from '../core/audit-record.ts';
import { AUDIT_TABLE } from '../core/audit-table.ts';
import { canonicalJson, sha256Hex } from '../core/canonical-json.ts';
import { type DigestEntry, recordIdOf, type SignedDigest, str } from './item.ts';
import type { VerifyProblem } from './verify-result.ts';
import { itemKey, type Snapshot } from './verify-snapshot.ts';

/** Checks every entry of one digest and that no other record was written in its period. */
export async function checkPeriod(
  digest: SignedDigest,
  entries: readonly DigestEntry[],
  snapshot: Snapshot,
  recordList: readonly AuditItem[],
  covered: ReadonlySet<string>,
): Promise<VerifyProblem | undefined> {
  const { sequence: n, periodStart, periodEnd } = digest.body;
  // Problems are found per entry and per stray record; the first in write order is reported.
  const found: { at: string; problem: VerifyProblem }[] = [];
  for (const entry of entries) {
    const item = await snapshot.getRecord(entry.executionId, entry.event);
    const problem = checkEntry(entry, item, n);
    if (problem !== undefined) {
      found.push({ at: entry.writtenAt, problem });
      break;
    }
  }
  const stray = recordList.find((item) => {
    const at = str(item, 'writtenAt') ?? '';
    return at >= periodStart && at < periodEnd && !covered.has(itemKey(item));
  });
  if (stray !== undefined) {
    found.push({ at: str(stray, 'writtenAt') ?? '', problem: inserted(stray, n, `in digest ${n}'s period`) });
  }
  found.sort((a, b) => a.at.localeCompare(b.at));
  return found[0]?.problem;
}

function checkEntry(entry: DigestEntry, item: AuditItem | undefined, n: number): VerifyProblem | undefined {
  const who = { executionId: entry.executionId, event: entry.event, digestSequence: n };
  if (item === undefined) {
    return {
      kind: 'deleted',
      ...who,
      message: `record ${entry.executionId}/${entry.event} listed in digest ${n} is missing`,
    };
  }
  const json = str(item, 'record');
  if (json === undefined) {
    return {
      kind: 'modified',
      ...who,
      message: `record ${entry.executionId}/${entry.event} has no record attribute`,
    };
  }
  if (sha256Hex(json) !== entry.recordSha256) {
    const retimed = retimedHash(json, entry.timestamp);
    if (retimed !== undefined && retimed.hash === entry.recordSha256) {
      return {
        kind: 'reordered',
        ...who,
        message: `record ${entry.executionId}/${entry.event} was moved in time: timestamp ${retimed.was} was ${entry.timestamp} when digest ${n} was made`,
      };
    }
    return {
      kind: 'modified',
      ...who,
      message: `record ${entry.executionId}/${entry.event} does not hash to the sha256 digest ${n} recorded: its content was changed`,
    };
  }
  const record = JSON.parse(json) as AuditRecord;
  const attr = (name: string): string | undefined => str(item, name);
  if (attr('recordSha256') !== entry.recordSha256) {
    return {
      kind: 'modified',
      ...who,
      message: `record ${entry.executionId}/${entry.event}'s recordSha256 attribute was changed`,
    };
  }
  if (record.executionId !== entry.executionId || record.event !== entry.event) {
    return {
      kind: 'modified',
      ...who,
      message: `record ${entry.executionId}/${entry.event} holds another record's content`,
    };
  }
  const callerArn = attr(AUDIT_TABLE.byCallerIndex.partitionKey);
  if (callerArn !== record.caller.arn) {
    return {
      kind: 'modified',
      ...who,
      message: `record ${entry.executionId}/${entry.event}'s callerArn attribute (${callerArn}) disagrees with the record (${record.caller.arn})`,
    };
  }
  const writtenAt = attr('writtenAt');
  const gsi1pk = attr(AUDIT_TABLE.byTimeIndex.partitionKey) ?? '';
  const gsi1sk = attr(AUDIT_TABLE.byTimeIndex.sortKey);
  const timestamp = attr(AUDIT_TABLE.byCallerIndex.sortKey);
  if (
    writtenAt !== entry.writtenAt ||
    gsi1sk !== `${entry.writtenAt}#${entry.executionId}#${entry.event}` ||
    !gsi1pk.startsWith(`t#${entry.writtenAt.slice(0, 13)}`) ||
    timestamp !== record.timestamp
  ) {
    return {
      kind: 'reordered',
      ...who,
      message: `record ${entry.executionId}/${entry.event}'s time attributes were changed (writtenAt ${writtenAt}, recorded ${entry.writtenAt}): it was moved in the time order`,
    };
  }
  return undefined;
}

/** The hash the record would have with its timestamp put back. */
function retimedHash(json: string, timestamp: string): { hash: string; was: string } | undefined {
  try {
    const record = JSON.parse(json) as Record<string, unknown>;
    const was = String(record.timestamp);
    return { hash: sha256Hex(canonicalJson({ ...record, timestamp })), was };
  } catch {
    return undefined;
  }
}

export function inserted(item: AuditItem, digestSequence: number | undefined, where: string): VerifyProblem {
  const who = recordIdOf(item);
  return {
    kind: 'inserted',
    ...who,
    ...(digestSequence === undefined ? {} : { digestSequence }),
    message: `record ${who.executionId}/${who.event} is in no digest although written ${where}: it was inserted`,
  };
}
