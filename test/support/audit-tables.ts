/**
 * The fixture the digest tests share: one dynalite per test file (started before its tests,
 * stopped after), a fresh audit table per test, a directory for audit log files, and a table
 * already holding a few records whose digest period has ended.
 *
 *   const tables = useAuditTables('digest-handler');
 *   it('...', async () => {
 *     const { tableName, clock, store } = await tables.withDeniedRecords(T0);
 *     ... tables.db.client ... tables.logFile(tableName) ...
 *   });
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createAuditTable } from '../../lambda/adapters/aws/audit-table.ts';
import { DynamoDbAuditStore } from '../../lambda/adapters/aws/dynamodb-audit-store.ts';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import { auditRecord, ManualClock } from '../audit/records.ts';
import { type RunningDynalite, startDynalite } from './dynalite.ts';

export interface AuditTables {
  /** The file's dynalite (available inside tests and hooks). */
  readonly db: RunningDynalite;
  /** Creates the next audit table, `<prefix>-<n>`, and returns its name. */
  newTable(): Promise<string>;
  /** A path for a table's audit log file, in the file's temporary directory. */
  logFile(tableName: string): string;
  /**
   * A new table holding `count` denied records (`exec-0`, `exec-1`, ..., one second apart after
   * `start`), with the clock then moved 10 minutes on: their digest period has ended.
   */
  withDeniedRecords(
    start: Date,
    count?: number,
  ): Promise<{ tableName: string; clock: ManualClock; store: DynamoDbAuditStore; records: AuditRecord[] }>;
}

export function useAuditTables(prefix: string): AuditTables {
  let db: RunningDynalite | undefined;
  let dir: string | undefined;
  let tables = 0;
  beforeAll(async () => {
    db = await startDynalite({ createTable: false });
    dir = await mkdtemp(join(tmpdir(), `custody-${prefix}-`));
  });
  afterAll(async () => {
    await db?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  const running = (): RunningDynalite => {
    if (db === undefined) throw new Error('useAuditTables: dynalite runs only inside the tests of the file');
    return db;
  };
  const fixture: AuditTables = {
    get db() {
      return running();
    },
    async newTable() {
      const tableName = `${prefix}-${++tables}`;
      await createAuditTable(running().client, tableName);
      return tableName;
    },
    logFile(tableName) {
      if (dir === undefined) throw new Error('useAuditTables: no directory outside the tests of the file');
      return join(dir, `${tableName}.log`);
    },
    async withDeniedRecords(start, count = 3) {
      const tableName = await fixture.newTable();
      const clock = new ManualClock(start);
      const store = new DynamoDbAuditStore({ client: running().client, tableName, clock: clock.now });
      const records: AuditRecord[] = [];
      for (let i = 0; i < count; i++) {
        clock.advance(1000);
        records.push(auditRecord(`exec-${i}`, 'denied', clock.now()));
        await store.put(records.at(-1) as AuditRecord);
      }
      clock.advance(10 * 60_000);
      return { tableName, clock, store, records };
    },
  };
  return fixture;
}
