/** A trail of records and digests on a real table, for the digest and verification tests. */
import { DeleteItemCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { type Item, recordKey, recordToItem } from '../../lambda/adapters/aws/audit-item.ts';
import { DynamoDbAuditChain } from '../../lambda/adapters/aws/dynamodb-audit-chain.ts';
import { DynamoDbAuditStore } from '../../lambda/adapters/aws/dynamodb-audit-store.ts';
import { FileAuditLog } from '../../lambda/adapters/local/file-audit-log.ts';
import { FileAuditSigner } from '../../lambda/adapters/local/file-audit-signer.ts';
import { createDigest, type DigestOptions } from '../../lambda/audit/create-digest.ts';
import type { SignedDigest } from '../../lambda/audit/item.ts';
import { type VerifyOptions, type VerifyResult, verifyChain } from '../../lambda/audit/verify-chain.ts';
import { formatVerifyReport } from '../../lambda/audit/verify-report.ts';
import type { AuditEvent, AuditRecord } from '../../lambda/core/audit-record.ts';
import type { AuditTables } from '../support/audit-tables.ts';
import { auditRecord, ManualClock } from './records.ts';

export const T0 = new Date('2026-03-10T10:00:00.000Z');
export const MINUTE = 60_000;

/**
 * A trail of three digests (each over a 5-minute period) plus two records not yet digested:
 *   digest 1: exec-1 started+completed, exec-2 denied       (8 records in all)
 *   digest 2: exec-3 started+completed, exec-4 started
 *   digest 3: exec-4 completed, exec-5 denied
 *   uncovered: exec-6 started+completed
 */
export class Trail {
  readonly clock = new ManualClock(T0);
  readonly signer = FileAuditSigner.generate();
  readonly digests: SignedDigest[] = [];
  readonly records = new Map<string, AuditRecord>();
  readonly log: FileAuditLog;
  readonly store: DynamoDbAuditStore;

  constructor(
    readonly tables: AuditTables,
    readonly tableName: string,
  ) {
    this.store = new DynamoDbAuditStore({ client: this.tables.db.client, tableName, clock: this.clock.now });
    this.log = new FileAuditLog(tables.logFile(tableName));
  }

  static async build(tables: AuditTables): Promise<Trail> {
    const trail = new Trail(tables, await tables.newTable());
    await trail.write('exec-1', 'started');
    await trail.write('exec-1', 'completed');
    await trail.write('exec-2', 'denied');
    await trail.digest();
    await trail.write('exec-3', 'started');
    await trail.write('exec-3', 'completed');
    await trail.write('exec-4', 'started');
    await trail.digest();
    await trail.write('exec-4', 'completed');
    await trail.write('exec-5', 'denied');
    await trail.digest();
    await trail.write('exec-6', 'started');
    await trail.write('exec-6', 'completed');
    return trail;
  }

  get digestOptions(): DigestOptions {
    return {
      table: new DynamoDbAuditChain({ client: this.tables.db.client, tableName: this.tableName }),
      signer: this.signer,
      log: this.log,
      clock: this.clock.now,
      genesis: new Date(T0.getTime() - 5 * MINUTE),
      settleMs: MINUTE,
    };
  }

  async write(executionId: string, event: AuditEvent): Promise<AuditRecord> {
    this.clock.advance(20_000);
    const record = auditRecord(executionId, event, this.clock.now());
    await this.store.put(record);
    this.records.set(`${executionId}/${event}`, record);
    return record;
  }

  /** Advances past the settle delay and writes the next digest. */
  async digest(): Promise<SignedDigest> {
    this.clock.advance(2 * MINUTE);
    const result = await createDigest(this.digestOptions);
    if (result.status !== 'written') throw new Error(`digest not written: ${result.status}`);
    this.digests.push(result.digest);
    return result.digest;
  }

  verify(extra: Partial<VerifyOptions> = {}): Promise<VerifyResult> {
    return verifyChain({
      table: new DynamoDbAuditChain({ client: this.tables.db.client, tableName: this.tableName }),
      publicKey: this.signer.publicKeyPem(),
      clock: this.clock.now,
      ...extra,
    });
  }

  async item(key: Item): Promise<Item> {
    const out = await this.tables.db.client.send(new GetItemCommand({ TableName: this.tableName, Key: key }));
    if (out.Item === undefined) throw new Error('no such item');
    return out.Item;
  }

  async putRaw(item: Item): Promise<void> {
    await this.tables.db.client.send(new PutItemCommand({ TableName: this.tableName, Item: item }));
  }

  async deleteRaw(key: Item): Promise<void> {
    await this.tables.db.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: key }));
  }

  /** Rewrites a stored record as someone with table write access would: content, hash and indexes consistent. */
  async rewriteRecord(
    executionId: string,
    event: AuditEvent,
    change: (r: AuditRecord) => AuditRecord,
  ): Promise<void> {
    const item = await this.item(recordKey(executionId, event));
    const record = JSON.parse(item.record?.S ?? '') as AuditRecord;
    await this.putRaw(recordToItem(change(record), item.writtenAt?.S ?? '', 1));
  }
}

export function problemOf(result: VerifyResult) {
  if (result.ok) throw new Error(`expected a problem, verification passed: ${formatVerifyReport(result)}`);
  return result.problem;
}
