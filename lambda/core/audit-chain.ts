/**
 * The audit table as the digest and the verifier see it (`lambda/audit/`): items as plain
 * attribute maps (name -> string, number, boolean ...), read back exactly as stored, so the
 * verifier judges what is in the table and not what an adapter made of it. DynamoDB on AWS,
 * dynalite locally: `lambda/adapters/aws/dynamodb-audit-chain.ts`.
 */
import type { AuditRecord } from './audit-record.ts';

/** One stored item, its attributes unmarshalled (`{ pk: 'exec#…', sk: 'started', record: '{…}' }`). */
export type AuditItem = Readonly<Record<string, unknown>>;

/** A record as it sits in the table: the exact JSON that was hashed, its hash, and when it was written. */
export interface StoredRecord {
  readonly record: AuditRecord;
  readonly recordJson: string;
  readonly recordSha256: string;
  readonly writtenAt: string;
}

/**
 * Reads and extends the digest chain. Every method throws (an audit DependencyError naming the
 * table) when the table cannot be read or written: verification and digests fail closed.
 */
export interface AuditChainStore {
  /** Names the table in messages. */
  readonly tableName: string;
  /** Every item of the table, strongly consistent (the full verification: even items no index holds). */
  scanAll(): Promise<AuditItem[]>;
  /** The newest `count` digest head items, newest first, strongly consistent. */
  latestDigests(count: number): Promise<AuditItem[]>;
  /** One item by key, strongly consistent; undefined if there is none. */
  getItem(pk: string, sk: string): Promise<AuditItem | undefined>;
  /**
   * Every record written in [from, to) by the writers' clocks, in write order (the byTime index,
   * eventually consistent: ask only for periods that ended a settle delay ago).
   */
  listWrittenBetween(from: Date, to: Date): Promise<StoredRecord[]>;
  /** When the table was created (the digest's default genesis). */
  createdAt(): Promise<Date>;
  /** Writes an item that must be new; false if an item with its key exists (nothing is replaced). */
  putNew(item: AuditItem, what: string): Promise<boolean>;
}
