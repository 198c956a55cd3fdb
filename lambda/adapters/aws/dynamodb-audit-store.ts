/**
 * The audit store on DynamoDB (AWS) and dynalite (local mode): same code, same table.
 *
 * Every event is its own item, written once with a condition so it is never overwritten: there is
 * no shared item (no counter, no chain head) on the write path, so executions never queue behind
 * each other. Integrity comes from the periodic signed digest (`lambda/audit/create-digest.ts`), not from the write.
 */
import {
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  paginateQuery,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import {
  AuditReadError,
  AuditRecordExistsError,
  AuditWriteError,
  describeError,
} from '../../audit/errors.ts';
import {
  type AuditItem,
  RECORD_PK_PREFIX,
  readRecordItem,
  recordShapeProblem,
  recordToItem,
  type StoredRecord,
  str,
  timeBuckets,
} from '../../audit/item.ts';
import { DYNAMODB_MAX_ITEM_BYTES } from '../../core/audit-bounds.ts';
import type { AuditRecord } from '../../core/audit-record.ts';
import { AUDIT_TABLE } from '../../core/audit-table.ts';
import type { AuditStore, Clock } from '../../core/ports.ts';
import { fromDynamoItem, itemSizeBytes, putNewItemCommand, recordKey, toDynamoItem } from './audit-item.ts';

export interface DynamoDbAuditStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Stamps `writtenAt`. @default () => new Date() */
  readonly clock?: Clock;
  /** Attempts per put, including the first (on top of the SDK client's own retries). @default 3 */
  readonly maxAttempts?: number;
  /**
   * Abandon an attempt after this long and retry with a fresh `writtenAt`, so a write is never
   * stamped much earlier than it lands (the digest's settle delay must exceed the whole put).
   * @default 5_000
   */
  readonly attemptTimeoutMs?: number;
  /** First back-off delay; doubled per attempt, with jitter. @default 50 */
  readonly retryBaseDelayMs?: number;
  /**
   * byTime partitions per hour. 1 suffices up to DynamoDB's per-partition write limit (1,000 WCU/s
   * on the index partition); raise it (never lower it) for more. Writers, digest and listings
   * must use the same value. @default 1
   */
  readonly timeShards?: number;
}

export interface ListRecentOptions {
  /** @default 50 */
  readonly limit?: number;
  /**
   * Oldest write to include. @default 7 days before now
   *
   * The listing queries the byTime index one hour at a time, newest first, so a `since` further
   * back than the default week is first raised to the first hour that can hold a record (one
   * hour before the table was created, as the digest's genesis); `since: new Date(0)` means "all".
   * What remains may reach back at most `LIST_RECENT_MAX_LOOKBACK_DAYS`: beyond that (a table
   * older than that, or one restored from a backup, whose creation time says nothing about its
   * records) listRecent throws a RangeError naming the limit rather than query for minutes or
   * silently list less. Older records: `get` (by execution), `listByCaller`, or `verifyChain`.
   */
  readonly since?: Date;
}

/** How far back `listRecent` reads (it walks the byTime index hour by hour). */
export const LIST_RECENT_MAX_LOOKBACK_DAYS = 366;

export interface ListByCallerOptions {
  /** @default 50 */
  readonly limit?: number;
  /** Oldest record timestamp to include. */
  readonly since?: Date;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** A `since` within this window is queried as given; further back, it is bounded first. */
const DEFAULT_LISTING_WINDOW_MS = 7 * DAY_MS;
/** A writer's clock may run this far behind the table's creation (the digest genesis allows the same). */
const WRITER_CLOCK_SLACK_MS = HOUR_MS;
/** Most hours queried at once while walking back through empty hours. */
const MAX_HOURS_PER_ROUND = 24;
const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
]);

export class DynamoDbAuditStore implements AuditStore {
  readonly tableName: string;
  readonly timeShards: number;
  private readonly client: DynamoDBClient;
  private readonly clock: Clock;
  private readonly maxAttempts: number;
  private readonly retryBaseDelayMs: number;
  private readonly attemptTimeoutMs: number;
  private creation: Promise<TableCreation> | undefined;

  constructor(options: DynamoDbAuditStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.clock = options.clock ?? (() => new Date());
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 50;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 5_000;
    this.timeShards = Math.max(1, Math.floor(options.timeShards ?? 1));
  }

  async put(record: AuditRecord): Promise<void> {
    const problem = recordShapeProblem(record);
    if (problem !== undefined) throw new AuditWriteError(`audit record not written: ${problem}`);
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      // Stamped per attempt: the digest covers items by write time, so the stamp must be fresh.
      const attributes = recordToItem(record, this.clock().toISOString(), this.timeShards);
      const item = toDynamoItem(attributes);
      const size = itemSizeBytes(item);
      if (size > DYNAMODB_MAX_ITEM_BYTES) {
        // Not sent: DynamoDB would refuse it, and retrying cannot help. The broker bounds its records
        // (boundAuditRecord) so that this never happens to them.
        throw new AuditWriteError(
          `audit record ${record.executionId}/${record.event} not written to table ${this.tableName}: its item is ${size} bytes; DynamoDB accepts at most ${DYNAMODB_MAX_ITEM_BYTES}`,
        );
      }
      try {
        await this.client.send(putNewItemCommand(this.tableName, item), {
          abortSignal: AbortSignal.timeout(this.attemptTimeoutMs),
        });
        return;
      } catch (error) {
        if (errorName(error) === 'ConditionalCheckFailedException') {
          // Either an earlier attempt of ours landed (its response was lost), or another record holds the key.
          if (await this.holdsSameRecord(record, str(attributes, 'recordSha256'))) return;
          throw new AuditRecordExistsError(record.executionId, record.event);
        }
        lastError = error;
        if (!isRetryable(error) || attempt === this.maxAttempts) break;
        await sleep(this.retryBaseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
      }
    }
    throw new AuditWriteError(
      `audit record ${record.executionId}/${record.event} not written to table ${this.tableName}: ${describeError(lastError)}`,
      { cause: lastError },
    );
  }

  private async holdsSameRecord(record: AuditRecord, sha256: string | undefined): Promise<boolean> {
    try {
      const out = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: recordKey(record.executionId, record.event),
          ConsistentRead: true,
        }),
      );
      return out.Item !== undefined && str(fromDynamoItem(out.Item), 'recordSha256') === sha256;
    } catch (error) {
      throw new AuditWriteError(
        `audit record ${record.executionId}/${record.event}: the conditional write failed and the existing item could not be read: ${describeError(error)}`,
        { cause: error },
      );
    }
  }

  async get(executionId: string): Promise<AuditRecord[]> {
    const items = await this.queryAll(
      {
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': AUDIT_TABLE.partitionKey },
        ExpressionAttributeValues: marshall({ ':pk': `${RECORD_PK_PREFIX}${executionId}` }),
        ConsistentRead: true,
      },
      Number.POSITIVE_INFINITY,
    );
    return items
      .map((item) => this.read(item).record)
      .sort((a, b) => a.timestamp.localeCompare(b.timestamp) || eventRank(a.event) - eventRank(b.event));
  }

  /**
   * The most recently written records, newest first (for `custody audit tail` and reports).
   * @throws RangeError when `since` reaches further back than it can read (see `ListRecentOptions.since`)
   */
  async listRecent(options: ListRecentOptions = {}): Promise<AuditRecord[]> {
    const limit = options.limit ?? 50;
    const now = this.clock();
    const since = options.since ?? new Date(now.getTime() - DEFAULT_LISTING_WINDOW_MS);
    const from =
      now.getTime() - since.getTime() > DEFAULT_LISTING_WINDOW_MS
        ? await this.listingStart(since, now)
        : since;
    const hours = timeBuckets(from, now, 1).reverse();
    const found: StoredRecord[] = [];
    // Newest hours first; through empty hours the rounds widen (1, 2, 4, ... 24 hours at once).
    let next = 0;
    let width = 1;
    while (next < hours.length && found.length < limit) {
      const round = hours.slice(next, next + width);
      next += round.length;
      const wanted = limit - found.length;
      const perBucket = await Promise.all(
        round
          .flatMap((hour) => this.shardBuckets(hour))
          .map((bucket) =>
            this.queryAll(
              {
                TableName: this.tableName,
                IndexName: AUDIT_TABLE.byTimeIndex.name,
                KeyConditionExpression: '#pk = :pk AND #sk >= :since',
                ExpressionAttributeNames: {
                  '#pk': AUDIT_TABLE.byTimeIndex.partitionKey,
                  '#sk': AUDIT_TABLE.byTimeIndex.sortKey,
                },
                ExpressionAttributeValues: marshall({ ':pk': bucket, ':since': from.toISOString() }),
                ScanIndexForward: false,
              },
              wanted,
            ),
          ),
      );
      const roundItems = perBucket.flat().map((item) => this.read(item));
      roundItems.sort((a, b) => b.writtenAt.localeCompare(a.writtenAt));
      found.push(...roundItems.slice(0, wanted));
      width = roundItems.length === 0 ? Math.min(width * 2, MAX_HOURS_PER_ROUND) : 1;
    }
    return found.map((s) => s.record);
  }

  /** `since`, raised to the first hour that can hold a record; refused if still beyond the look-back. */
  private async listingStart(since: Date, now: Date): Promise<Date> {
    const creation = await this.tableCreation();
    const firstPossible = creation.ok ? creation.createdAt.getTime() - WRITER_CLOCK_SLACK_MS : undefined;
    const from =
      firstPossible !== undefined && firstPossible > since.getTime() ? new Date(firstPossible) : since;
    if (now.getTime() - from.getTime() > LIST_RECENT_MAX_LOOKBACK_DAYS * DAY_MS) {
      const why = creation.ok
        ? `table ${this.tableName} was created ${creation.createdAt.toISOString()}, so it may hold older records`
        : `the table's creation time, which would bound it, is unknown: ${creation.reason}`;
      throw new RangeError(
        `listRecent: since ${since.toISOString()} is more than ${LIST_RECENT_MAX_LOOKBACK_DAYS} days before now (${now.toISOString()}) and ${why}; ` +
          `the listing reads the time index hour by hour and looks back at most ${LIST_RECENT_MAX_LOOKBACK_DAYS} days: pass a later since, or find older records by execution (get) or caller (listByCaller)`,
      );
    }
    return from;
  }

  /** When the table was created, read once (DescribeTable); unknown if unreadable or restored from a backup. */
  private tableCreation(): Promise<TableCreation> {
    this.creation ??= this.client.send(new DescribeTableCommand({ TableName: this.tableName })).then(
      (out): TableCreation => {
        const table = out.Table;
        if (table?.RestoreSummary !== undefined) {
          return { ok: false, reason: 'it was restored from a backup, so its records may predate it' };
        }
        if (table?.CreationDateTime === undefined) return { ok: false, reason: 'DescribeTable gave none' };
        return { ok: true, createdAt: table.CreationDateTime };
      },
      (error: unknown): TableCreation => {
        // Not cached: the next listing asks again.
        this.creation = undefined;
        return { ok: false, reason: `DescribeTable failed: ${describeError(error)}` };
      },
    );
    return this.creation;
  }

  /** A caller's records (by `caller.arn`), newest first ("everything principal X ran"). */
  async listByCaller(callerArn: string, options: ListByCallerOptions = {}): Promise<AuditRecord[]> {
    const names = { '#pk': AUDIT_TABLE.byCallerIndex.partitionKey, '#sk': AUDIT_TABLE.byCallerIndex.sortKey };
    const items = await this.queryAll(
      {
        TableName: this.tableName,
        IndexName: AUDIT_TABLE.byCallerIndex.name,
        KeyConditionExpression: options.since === undefined ? '#pk = :pk' : '#pk = :pk AND #sk >= :since',
        ExpressionAttributeNames: options.since === undefined ? { '#pk': names['#pk'] } : names,
        ExpressionAttributeValues: marshall({
          ':pk': callerArn,
          ...(options.since === undefined ? {} : { ':since': options.since.toISOString() }),
        }),
        ScanIndexForward: false,
      },
      options.limit ?? 50,
    );
    return items.map((item) => this.read(item).record);
  }

  /**
   * Every record written in [from, to) by the store's clock, in write order (writtenAt, executionId,
   * event) — what a digest covers. Reads the byTime index (eventually consistent: call it only for
   * periods that ended a settle delay ago).
   */
  async listWrittenBetween(from: Date, to: Date): Promise<StoredRecord[]> {
    if (to.getTime() <= from.getTime()) return [];
    const buckets = timeBuckets(from, new Date(to.getTime() - 1), this.timeShards);
    const results = await Promise.all(
      buckets.map((bucket) =>
        this.queryAll(
          {
            TableName: this.tableName,
            IndexName: AUDIT_TABLE.byTimeIndex.name,
            // `<writtenAt>#...` sorts after `<from>` when writtenAt == from, and after `<to>` when
            // writtenAt == to: BETWEEN from AND to is exactly [from, to).
            KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
            ExpressionAttributeNames: {
              '#pk': AUDIT_TABLE.byTimeIndex.partitionKey,
              '#sk': AUDIT_TABLE.byTimeIndex.sortKey,
            },
            ExpressionAttributeValues: marshall({
              ':pk': bucket,
              ':from': from.toISOString(),
              ':to': to.toISOString(),
            }),
          },
          Number.POSITIVE_INFINITY,
        ),
      ),
    );
    const byTimeKey = AUDIT_TABLE.byTimeIndex.sortKey;
    return results
      .flat()
      .sort((a, b) => (str(a, byTimeKey) ?? '').localeCompare(str(b, byTimeKey) ?? ''))
      .map((item) => this.read(item));
  }

  private shardBuckets(hourBucket: string): string[] {
    return Array.from({ length: this.timeShards }, (_, shard) =>
      shard === 0 ? hourBucket : `${hourBucket}#${shard}`,
    );
  }

  private read(item: AuditItem): StoredRecord {
    const result = readRecordItem(item);
    if (!result.ok) throw new AuditReadError(`audit table ${this.tableName}: ${result.message}`);
    return result.stored;
  }

  /** Every item the query matches (all pages, SDK paginator), or at least `limit` of them. */
  private async queryAll(input: QueryCommandInput, limit: number): Promise<AuditItem[]> {
    const items: AuditItem[] = [];
    try {
      const pages = paginateQuery(
        // Each page's command with its own copy of the input (the paginator moves one object's key).
        { client: this.client, withCommand: (command) => new QueryCommand({ ...command.input }) },
        { ...input, ...(Number.isFinite(limit) ? { Limit: Math.max(1, limit) } : {}) },
      );
      for await (const page of pages) {
        for (const item of page.Items ?? []) items.push(fromDynamoItem(item));
        if (items.length >= limit) break;
      }
    } catch (error) {
      throw new AuditReadError(`could not read audit table ${this.tableName}: ${describeError(error)}`, {
        cause: error,
      });
    }
    return Number.isFinite(limit) ? items.slice(0, limit) : items;
  }
}

type TableCreation =
  | { readonly ok: true; readonly createdAt: Date }
  | { readonly ok: false; readonly reason: string };

function eventRank(event: string): number {
  return event === 'started' ? 0 : event === 'completed' ? 1 : 2;
}

function errorName(error: unknown): string | undefined {
  return (error as { name?: string } | undefined)?.name;
}

function isRetryable(error: unknown): boolean {
  const e = error as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (e?.$retryable !== undefined) return true;
  if (e?.name !== undefined && THROTTLING.has(e.name)) return true;
  const status = e?.$metadata?.httpStatusCode;
  // 4xx other than throttling: the request itself is wrong (no table, no permission): retrying won't help.
  return status === undefined || status >= 500;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
