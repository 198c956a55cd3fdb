/**
 * Audit write throughput against a real local store (dynalite, in memory, in this process).
 *
 *   npx tsx bench/audit-throughput.ts [records=2000] [concurrency=1,8,32]
 *
 * Measures, for each concurrency:
 *   - independent conditional puts through DynamoDbAuditStore (custody's design: no shared item);
 *   - a "chain head" baseline where every write must advance one shared head item with a
 *     conditional update (what a per-record hash chain needs): writers collide and retry;
 * then the time to digest and to verify everything written. Figures go to docs/audit.md.
 */
import { performance } from 'node:perf_hooks';
import { type DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { recordToItem } from '../lambda/adapters/aws/audit-item.ts';
import { createAuditTable } from '../lambda/adapters/aws/audit-table.ts';
import { DynamoDbAuditStore } from '../lambda/adapters/aws/dynamodb-audit-store.ts';
import { verifyAudit } from '../lambda/adapters/aws/dynamodb-audit-verify.ts';
import { createDigest } from '../lambda/adapters/aws/dynamodb-digests.ts';
import { FileAuditSigner } from '../lambda/adapters/local/file-audit-signer.ts';
import type { AuditRecord } from '../lambda/core/audit-record.ts';
import { startDynalite } from '../test/support/dynalite.ts';

const total = Number(process.argv[2] ?? 2000);
const concurrencies = (process.argv[3] ?? '1,8,32').split(',').map(Number);

function record(i: number, at: Date): AuditRecord {
  return {
    schemaVersion: 1,
    executionId: `bench-${i.toString().padStart(8, '0')}-${Math.random().toString(36).slice(2, 10)}`,
    event: 'completed',
    timestamp: at.toISOString(),
    caller: {
      arn: `arn:aws:sts::111122223333:assumed-role/agent/session-${i % 50}`,
      accountId: '111122223333',
    },
    request: { profile: 'sandbox', language: 'python', codeSha256: 'a'.repeat(64), codeBytes: 512 },
    decision: { allowed: true, reason: 'ALLOWED' },
    role: {
      arn: 'arn:aws:iam::111122223333:role/custody-sandbox',
      assumedRoleArn: `arn:aws:sts::111122223333:assumed-role/custody-sandbox/x${i}`,
      sessionName: `x${i}`,
      sourceIdentity: 'agent',
    },
    outcome: { status: 'succeeded', outputSha256: 'c'.repeat(64), redactions: 0, truncated: false },
    timingsMs: { validate: 1, decide: 1, auditStart: 4, assume: 30, secrets: 10, execute: 120, seal: 2 },
    origin: 'local',
  };
}

async function runPool(
  count: number,
  concurrency: number,
  work: (i: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await work(next++);
    }),
  );
  return performance.now() - start;
}

/** Baseline: each write advances one shared head item (optimistic concurrency) and then writes the record. */
async function chainHeadWrite(
  client: DynamoDBClient,
  tableName: string,
  r: AuditRecord,
  stats: { retries: number },
) {
  const head = { pk: { S: 'chainhead' }, sk: { S: 'head' } };
  for (;;) {
    const { GetItemCommand } = await import('@aws-sdk/client-dynamodb');
    const out = await client.send(
      new GetItemCommand({ TableName: tableName, Key: head, ConsistentRead: true }),
    );
    const seq = Number(out.Item?.seq?.N ?? '0');
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: head,
          UpdateExpression: 'SET seq = :next',
          ConditionExpression: seq === 0 ? 'attribute_not_exists(seq)' : 'seq = :seq',
          ExpressionAttributeValues: {
            ':next': { N: String(seq + 1) },
            ...(seq === 0 ? {} : { ':seq': { N: String(seq) } }),
          },
        }),
      );
      break;
    } catch (error) {
      if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
      stats.retries++;
    }
  }
  await client.send(
    new PutItemCommand({ TableName: tableName, Item: recordToItem(r, new Date().toISOString(), 1) }),
  );
}

async function main(): Promise<void> {
  const db = await startDynalite({ createTable: false });
  const signer = FileAuditSigner.generate();
  const rows: string[] = [];
  try {
    for (const concurrency of concurrencies) {
      const tableName = `bench-${concurrency}`;
      await createAuditTable(db.client, tableName);
      const genesis = new Date(Date.now() - 60_000);
      const store = new DynamoDbAuditStore({ client: db.client, tableName });
      const putMs = await runPool(total, concurrency, (i) => store.put(record(i, new Date())));

      const chainTable = `bench-chain-${concurrency}`;
      await createAuditTable(db.client, chainTable);
      const stats = { retries: 0 };
      const chainMs = await runPool(total, concurrency, (i) =>
        chainHeadWrite(db.client, chainTable, record(i, new Date()), stats),
      );

      await new Promise((resolve) => setTimeout(resolve, 20));
      const digestStart = performance.now();
      const digest = await createDigest({ client: db.client, tableName, signer, genesis, settleMs: 0 });
      const digestMs = performance.now() - digestStart;
      const covered = digest.status === 'written' ? digest.digest.body.recordCount : 0;
      const verifyStart = performance.now();
      const verified = await verifyAudit({ client: db.client, tableName, signer });
      const verifyMs = performance.now() - verifyStart;
      if (!verified.ok) throw new Error(`verification failed: ${verified.problem.message}`);

      rows.push(
        `| ${concurrency} | ${total} | ${((total / putMs) * 1000).toFixed(0)} | ${((total / chainMs) * 1000).toFixed(0)} (${stats.retries} retries) | ${covered} in ${digestMs.toFixed(0)} ms | ${verified.records} in ${verifyMs.toFixed(0)} ms |`,
      );
    }
  } finally {
    await db.stop();
  }
  console.log(`audit throughput on dynalite (in memory, same process), node ${process.version}`);
  console.log('| writers | records | independent puts/s | chain-head writes/s | digest | verify (scan) |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}

await main();
