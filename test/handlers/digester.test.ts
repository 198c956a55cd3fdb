import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestKey, recordKey, recordToItem } from '../../lambda/adapters/aws/audit-item.ts';
import { createAuditTable } from '../../lambda/adapters/aws/audit-table.ts';
import { DynamoDbAuditStore } from '../../lambda/adapters/aws/dynamodb-audit-store.ts';
import { FileAuditLog } from '../../lambda/adapters/local/file-audit-log.ts';
import { FileAuditSigner } from '../../lambda/adapters/local/file-audit-signer.ts';
import { AuditChainError } from '../../lambda/audit/digest.ts';
import { Metric } from '../../lambda/core/metrics.ts';
import { createDigestHandler, type DigestHandlerDeps, handler } from '../../lambda/handlers/digester.ts';
import { auditRecord, ManualClock } from '../audit/records.ts';
import { type RunningDynalite, startDynalite } from '../support/dynalite.ts';

const T0 = new Date('2026-03-10T10:00:00.000Z');
let db: RunningDynalite;
let dir: string;
let tables = 0;

beforeAll(async () => {
  db = await startDynalite({ createTable: false });
  dir = await mkdtemp(join(tmpdir(), 'custody-digest-'));
});
afterAll(async () => {
  await db.stop();
  await rm(dir, { recursive: true, force: true });
});

async function setUp() {
  const tableName = `digest-handler-${++tables}`;
  await createAuditTable(db.client, tableName);
  const clock = new ManualClock(T0);
  const log = new FileAuditLog(join(dir, `${tableName}.log`));
  const metrics: { name: string; value: number }[] = [];
  const deps: DigestHandlerDeps = {
    client: db.client,
    tableName,
    signer: FileAuditSigner.generate(),
    log,
    emitMetric: (name, value) => metrics.push({ name, value }),
    clock: clock.now,
    genesis: new Date(T0.getTime() - 60_000),
  };
  const store = new DynamoDbAuditStore({ client: db.client, tableName, clock: clock.now });
  for (let i = 0; i < 3; i++) {
    clock.advance(1000);
    await store.put(auditRecord(`exec-${i}`, 'denied', clock.now()));
  }
  clock.advance(10 * 60_000);
  return { deps, clock, log, metrics, run: createDigestHandler(deps) };
}

describe('digest handler', () => {
  it('writes the digests that are due, verifies them, and reports intact (metric 1, log line)', async () => {
    const { run, metrics, log } = await setUp();
    const summary = await run();

    expect(summary).toEqual({ digestsWritten: 1, lastSequence: 1, verification: { ok: true } });
    expect(metrics).toEqual([{ name: Metric.AuditVerificationIntact, value: 1 }]);
    const lines = (await log.readLines()).map(
      (l) => JSON.parse(l) as Record<string, { ok?: boolean; records?: number; sequence?: number }>,
    );
    expect(lines[0]?.auditDigest?.sequence).toBe(1);
    expect(lines[1]?.auditVerification).toMatchObject({ ok: true, records: 3 });
  });

  it('reports tampering as a result: metric 0 and the problem in the log, without failing', async () => {
    const { run, metrics, log, deps, clock } = await setUp();
    await run();
    const forged = auditRecord('exec-1', 'denied', T0, 'stranger');
    const item = recordToItem(forged, new Date(T0.getTime() + 2000).toISOString(), 1);
    await db.client.send(
      new PutItemCommand({ TableName: deps.tableName, Item: { ...item, ...recordKey('exec-1', 'denied') } }),
    );
    clock.advance(5 * 60_000);
    const summary = await run();

    expect(summary.verification).toMatchObject({ ok: false, kind: 'modified' });
    expect(metrics.at(-1)).toEqual({ name: Metric.AuditVerificationIntact, value: 0 });
    const last = JSON.parse((await log.readLines()).at(-1) ?? '{}') as {
      auditVerification?: { ok: boolean; problem?: { executionId?: string } };
    };
    expect(last.auditVerification).toMatchObject({ ok: false, problem: { executionId: 'exec-1' } });
  });

  it('refuses to extend a tampered chain: metric 0, then the invocation fails', async () => {
    const { run, metrics, deps, clock } = await setUp();
    await run();
    await db.client.send(
      new PutItemCommand({
        TableName: deps.tableName,
        Item: {
          ...digestKey(1),
          itemType: { S: 'digest' },
          body: { S: '{"sequence":1,"parts":[]}' },
          digestSha256: { S: 'x' },
          signature: { S: 'y' },
        },
      }),
    );
    clock.advance(5 * 60_000);

    await expect(run()).rejects.toBeInstanceOf(AuditChainError);
    expect(metrics.at(-1)).toEqual({ name: Metric.AuditVerificationIntact, value: 0 });
  });

  it('names the missing environment variable when not configured', async () => {
    const saved = process.env.CUSTODY_AUDIT_TABLE;
    delete process.env.CUSTODY_AUDIT_TABLE;
    try {
      await expect(handler()).rejects.toThrow(/needs the environment variable CUSTODY_AUDIT_TABLE/);
    } finally {
      if (saved !== undefined) process.env.CUSTODY_AUDIT_TABLE = saved;
    }
  });
});
