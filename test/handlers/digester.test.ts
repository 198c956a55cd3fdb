import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { digestKey, recordKey, recordToItem } from '../../lambda/adapters/aws/audit-item.ts';
import { FileAuditLog } from '../../lambda/adapters/local/file-audit-log.ts';
import { FileAuditSigner } from '../../lambda/adapters/local/file-audit-signer.ts';
import { AuditChainError } from '../../lambda/audit/create-digest.ts';
import { Metric } from '../../lambda/core/metrics.ts';
import { createDigestHandler, type DigestHandlerDeps, handler } from '../../lambda/handlers/digester.ts';
import { auditRecord } from '../audit/records.ts';
import { useAuditTables } from '../support/audit-tables.ts';

const T0 = new Date('2026-03-10T10:00:00.000Z');
const tables = useAuditTables('digest-handler');

async function setUp() {
  const { tableName, clock } = await tables.withDeniedRecords(T0);
  const log = new FileAuditLog(tables.logFile(tableName));
  const metrics: { name: string; value: number }[] = [];
  const deps: DigestHandlerDeps = {
    client: tables.db.client,
    tableName,
    signer: FileAuditSigner.generate(),
    log,
    emitMetric: (name, value) => metrics.push({ name, value }),
    clock: clock.now,
    genesis: new Date(T0.getTime() - 60_000),
  };
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
    await tables.db.client.send(
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
    await tables.db.client.send(
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
