/**
 * Audit completeness against a real DynamoDB-compatible server (dynalite) and the real file audit
 * log: the worst inputs a caller can send still leave both records in the table and in the log,
 * and every refusal leaves a record.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Item, itemSizeBytes, recordKey } from '../../lambda/adapters/aws/audit-item.ts';
import { DynamoDbAuditStore } from '../../lambda/adapters/aws/dynamodb-audit-store.ts';
import { FileAuditLog } from '../../lambda/adapters/local/file-audit-log.ts';
import { reconcileAuditLog } from '../../lambda/audit/reconcile.ts';
import { MAX_BODY_BYTES } from '../../lambda/broker/request.ts';
import { CLOUDWATCH_MAX_EVENT_BYTES, DYNAMODB_MAX_ITEM_BYTES } from '../../lambda/core/audit-bounds.ts';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import { sha256Hex } from '../../lambda/core/canonical-json.ts';
import { type RunningDynalite, startDynalite } from '../support/dynalite.ts';
import { sandboxResult } from './fakes.ts';
import { brokerFixture, callers, post } from './fixture.ts';

let db: RunningDynalite;
let dir: string;
let n = 0;

beforeAll(async () => {
  db = await startDynalite();
  dir = mkdtempSync(join(tmpdir(), 'custody-audit-trail-'));
});
afterAll(async () => {
  await db?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A broker whose audit store is dynalite and whose audit log is a file. */
function realAuditBroker() {
  const store = new DynamoDbAuditStore({ client: db.client, tableName: db.tableName });
  const log = new FileAuditLog(join(dir, `audit-${n++}.log`));
  const f = brokerFixture({
    auditStore: store,
    auditLog: log,
    newExecutionId: () => `01J0AUDITTRAIL${String(n++).padStart(12, '0')}`,
  });
  return { ...f, store, log };
}

async function itemOf(executionId: string, event: AuditRecord['event']): Promise<Item | undefined> {
  const out = await db.client.send(
    new GetItemCommand({ TableName: db.tableName, Key: recordKey(executionId, event), ConsistentRead: true }),
  );
  return out.Item;
}

/** Both stores hold the same bytes for every record of the execution. */
async function expectLanded(
  store: DynamoDbAuditStore,
  log: FileAuditLog,
  executionId: string,
  events: AuditRecord['event'][],
): Promise<AuditRecord[]> {
  const records = await store.get(executionId);
  expect(records.map((r) => r.event)).toEqual(events);
  const lines = (await log.readLines()).filter((l) => l.includes(`"executionId":"${executionId}"`));
  expect(lines).toHaveLength(events.length);
  for (const event of events) {
    const item = await itemOf(executionId, event);
    expect(item).toBeDefined();
    expect(itemSizeBytes(item as Item)).toBeLessThanOrEqual(DYNAMODB_MAX_ITEM_BYTES);
    const line = lines.find((l) => l.includes(`"event":"${event}"`)) as string;
    expect(Buffer.byteLength(line) + 26).toBeLessThanOrEqual(CLOUDWATCH_MAX_EVENT_BYTES + 26);
    expect(sha256Hex(line)).toBe(item?.recordSha256?.S);
  }
  return records;
}

const manyFiles = () =>
  Object.fromEntries(
    Array.from({ length: 64 }, (_, i) => [
      `${String(i).padStart(2, '0')}${'d/'.repeat(60)}${'f'.repeat(128)}`,
      'x',
    ]),
  );

describe('audit records on a real table and log', () => {
  it.each([
    [
      '64 KiB of control characters as code, with a 4 KiB control-character purpose',
      '\u0001'.repeat(65_536),
      '\u001b'.repeat(4096),
      true,
    ],
    ['4-byte UTF-8 code and purpose', '\u{1F600}'.repeat(16_384), '\u{1F600}'.repeat(2048), false],
    ['lone surrogates and quotes', '\ud800"\\'.repeat(13_000), '\udfff'.repeat(4096), false],
  ])(
    'stores both records of a run with %s, many long file names and the largest output',
    async (_label, code, purpose, codeCut) => {
      const f = realAuditBroker();
      f.executor.respond = () =>
        sandboxResult({
          status: 'failed',
          stdout: 'o'.repeat(1_000_000),
          error: { name: '\u0002'.repeat(500_000), message: 'm', traceback: 't' },
        } as never);
      const res = await f.api.handle(
        post(callers.agent, { profile: 'sandbox', language: 'python', code, purpose, files: manyFiles() }),
      );
      expect(res.statusCode).toBe(200);
      const out = JSON.parse(res.body) as { executionId: string; auditPending?: boolean; codeSha256: string };
      expect(out.auditPending).toBeUndefined();
      const [started, completed] = await expectLanded(f.store, f.log, out.executionId, [
        'started',
        'completed',
      ]);
      // What was cut is named, with the whole value's size and hash.
      if (codeCut) {
        const cut = completed?.cut?.find((c) => c.field === 'request.code');
        expect(cut).toMatchObject({ bytes: Buffer.byteLength(code), sha256: out.codeSha256 });
        expect(started?.cut?.map((c) => c.field)).toContain('request.code');
        expect(code.startsWith(completed?.request.code ?? '-')).toBe(true);
      } else {
        expect(completed?.request.code).toBe(code);
        expect(started?.request.purpose).toBe(purpose);
      }
      expect(completed?.cut?.map((c) => c.field)).toContain('outcome.errorName');
      expect(completed?.request.codeSha256).toBe(out.codeSha256);
      expect(completed?.request.fileNames).toHaveLength(64);
      expect(completed?.request.timeoutMs).toBe(10_000);
    },
  );

  it('keeps a 4 KiB purpose whole, and the run succeeds', async () => {
    const f = realAuditBroker();
    const purpose = '\u0007'.repeat(4096);
    const res = await f.api.handle(
      post(callers.agent, { profile: 'sandbox', language: 'python', code: 'print(1)', purpose }),
    );
    expect(res.statusCode).toBe(200);
    const { executionId } = JSON.parse(res.body) as { executionId: string };
    const records = await expectLanded(f.store, f.log, executionId, ['started', 'completed']);
    expect(records[0]?.request.purpose).toBe(purpose);
    expect(records[0]?.cut).toBeUndefined();
  });
});

describe('refusals leave a durable record', () => {
  it.each([
    ['a malformed body', '{"profile": "sandbox", "language": ', 400, 'INVALID_REQUEST'],
    ['a body over the size limit', `{"code":"${'x'.repeat(MAX_BODY_BYTES)}"}`, 413, 'PAYLOAD_TOO_LARGE'],
    [
      'code over the profile limit',
      JSON.stringify({ profile: 'sandbox', language: 'python', code: '\u0001'.repeat(70_000) }),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    [
      'a purpose over 4,096 characters',
      JSON.stringify({ profile: 'sandbox', language: 'python', code: '1', purpose: '\u001b'.repeat(5000) }),
      400,
      'INVALID_REQUEST',
    ],
    [
      'thousands of long unknown fields (named in the message)',
      JSON.stringify({
        profile: 'sandbox',
        language: 'python',
        code: '1',
        ...Object.fromEntries(
          Array.from({ length: 5000 }, (_, i) => [`\u0001${i}${'\u0002'.repeat(100)}`, 1]),
        ),
      }),
      400,
      'INVALID_REQUEST',
    ],
  ])('records %s as denied, in the table and the log, without a 5xx', async (_label, raw, status, code) => {
    const f = realAuditBroker();
    const res = await f.api.handle(post(callers.agent, raw));
    expect(res.statusCode).toBe(status);
    const error = (
      JSON.parse(res.body) as { error: { code: string; executionId: string; auditPending?: boolean } }
    ).error;
    expect(error.code).toBe(code);
    expect(res.body).not.toMatch(/\n\s+at /);
    expect(error.auditPending).toBeUndefined();
    const [denied] = await expectLanded(f.store, f.log, error.executionId, ['denied']);
    expect(denied?.decision).toMatchObject({ allowed: false, reason: code });
  });

  it('records the refusal in the log when the started write fails, answers 503 without a trace, and reconciles it into the table', async () => {
    const f = realAuditBroker();
    const put = f.store.put.bind(f.store);
    let failStarted = true;
    f.store.put = async (record) => {
      if (record.event === 'started' && failStarted)
        throw new Error('ProvisionedThroughputExceededException');
      return put(record);
    };
    const res = await f.api.handle(
      post(callers.agent, { profile: 'sandbox', language: 'python', code: 'print(1)', purpose: 'p' }),
    );
    expect(res.statusCode).toBe(503);
    expect(res.body).not.toMatch(/\n\s+at /);
    expect(f.executor.calls).toHaveLength(0);
    const error = (
      JSON.parse(res.body) as { error: { code: string; executionId: string; auditPending?: boolean } }
    ).error;
    expect(error).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', auditPending: true });
    const logged = (await f.log.readLines()).map((l) => JSON.parse(l) as AuditRecord);
    expect(logged.filter((r) => r.executionId === error.executionId).map((r) => r.event)).toEqual(['denied']);
    expect(await f.store.get(error.executionId)).toEqual([]);

    failStarted = false;
    await reconcileAuditLog({ store: f.store, lines: await f.log.readLines() });
    const [denied] = await expectLanded(f.store, f.log, error.executionId, ['denied']);
    expect(denied?.decision.reason).toBe('DEPENDENCY_UNAVAILABLE');
    expect(denied?.request.purpose).toBe('p');
  });

  it('records the refusal in the log alone when the table takes nothing, and says it is pending', async () => {
    const f = realAuditBroker();
    f.store.put = async () => {
      throw new Error('ServiceUnavailable');
    };
    const res = await f.api.handle(
      post(callers.agent, { profile: 'sandbox', language: 'python', code: 'print(1)' }),
    );
    expect(res.statusCode).toBe(503);
    const error = (JSON.parse(res.body) as { error: { executionId: string; auditPending?: boolean } }).error;
    expect(error.auditPending).toBe(true);
    const lines = (await f.log.readLines()).map((l) => JSON.parse(l) as AuditRecord);
    expect(lines.filter((r) => r.executionId === error.executionId).map((r) => r.event)).toEqual(['denied']);
  });
});
