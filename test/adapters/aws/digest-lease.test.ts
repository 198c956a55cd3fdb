import { DynamoDBClient, GetItemCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { describe, expect, it } from 'vitest';
import {
  acquireDigestLease,
  DIGEST_LEASE_KEY,
  withDigestLease,
} from '../../../lambda/adapters/aws/digest-lease.ts';
import { FileAuditLog } from '../../../lambda/adapters/local/file-audit-log.ts';
import { FileAuditSigner } from '../../../lambda/adapters/local/file-audit-signer.ts';
import { DIGEST_PART_PK_PREFIX, DIGEST_PK } from '../../../lambda/audit/item.ts';
import type { AuditSigner } from '../../../lambda/core/audit-signer.ts';
import { AUDIT_TABLE } from '../../../lambda/core/audit-table.ts';
import { createDigestHandler } from '../../../lambda/handlers/digester.ts';
import { ManualClock } from '../../audit/records.ts';
import { useAuditTables } from '../../support/audit-tables.ts';

const T0 = new Date('2026-03-10T10:00:00.000Z');
const tables = useAuditTables('digest-lease');

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A signer that signs only once `gate` opens, and says when it has been asked. */
function gatedSigner(inner: AuditSigner, gate: Promise<void>, asked: () => void): AuditSigner {
  return {
    keyId: inner.keyId,
    publicKey: () => inner.publicKey(),
    sign: async (message) => {
      asked();
      await gate;
      return inner.sign(message);
    },
  };
}

function tableWithRecords() {
  return tables.withDeniedRecords(T0);
}

async function itemsWithPk(tableName: string, match: (pk: string) => boolean) {
  const out = await tables.db.client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
  return (out.Items ?? []).filter((item) => match(item[AUDIT_TABLE.partitionKey]?.S ?? ''));
}

describe('digest lease', () => {
  it('lets only one of two overlapping digester runs write: the other writes nothing', async () => {
    const { tableName, clock } = await tableWithRecords();
    const signer = FileAuditSigner.generate();
    const log = new FileAuditLog(tables.logFile(tableName));
    const firstAsked = deferred();
    const gate = deferred();
    const digester = (s: AuditSigner) =>
      withDigestLease(
        createDigestHandler({
          client: tables.db.client,
          tableName,
          signer: s,
          log,
          emitMetric: () => undefined,
          clock: clock.now,
          genesis: new Date(T0.getTime() - 60_000),
        }),
        { client: tables.db.client, tableName, clock: clock.now },
      );
    let secondSigned = 0;
    const first = digester(gatedSigner(signer, gate.promise, () => firstAsked.resolve()))();
    // The first run is inside its digest (signing) when the second starts.
    await firstAsked.promise;
    const second = await digester(gatedSigner(signer, Promise.resolve(), () => secondSigned++))();
    gate.resolve();
    const firstSummary = await first;

    expect(second).toEqual({ skipped: 'another digester holds the lease', digestsWritten: 0 });
    expect(secondSigned).toBe(0);
    expect(firstSummary).toMatchObject({ digestsWritten: 1, lastSequence: 1 });
    expect(await itemsWithPk(tableName, (pk) => pk === DIGEST_PK)).toHaveLength(1);
    expect(await itemsWithPk(tableName, (pk) => pk.startsWith(DIGEST_PART_PK_PREFIX))).toHaveLength(1);
    const lines = await log.readLines();
    expect(lines.filter((l) => l.includes('"digest"')).length).toBeLessThanOrEqual(1);
    expect((await log.readDigestAnchors()).length).toBe(1);

    // Given back: the next scheduled run takes it and digests again.
    clock.advance(10 * 60_000);
    const third = await digester(signer)();
    expect(third).toMatchObject({ digestsWritten: 1, lastSequence: 2 });
  });

  it('gives the lease back when the run fails', async () => {
    const { tableName, clock } = await tableWithRecords();
    const options = { client: tables.db.client, tableName, clock: clock.now };
    const failing = withDigestLease(() => Promise.reject(new Error('KMS unreachable')), options);
    await expect(failing()).rejects.toThrow(/KMS unreachable/);
    expect(await acquireDigestLease(options)).toBeDefined();
  });

  it('expires a lease whose holder died, so a crashed digester blocks only until then', async () => {
    const { tableName, clock } = await tableWithRecords();
    const options = { client: tables.db.client, tableName, clock: clock.now, leaseMs: 60_000 };
    const held = await acquireDigestLease(options);
    expect(held).toBeDefined();
    expect(await acquireDigestLease(options)).toBeUndefined();
    clock.advance(59_999);
    expect(await acquireDigestLease(options)).toBeUndefined();
    clock.advance(1);
    const next = await acquireDigestLease(options);
    expect(next).toBeDefined();
    // The dead holder's late release does not free the new holder's lease.
    await held?.release();
    expect(await acquireDigestLease(options)).toBeUndefined();
    const item = await tables.db.client.send(
      new GetItemCommand({
        TableName: tableName,
        Key: {
          [AUDIT_TABLE.partitionKey]: { S: DIGEST_LEASE_KEY.pk },
          [AUDIT_TABLE.sortKey]: { S: DIGEST_LEASE_KEY.sk },
        },
        ConsistentRead: true,
      }),
    );
    expect(item.Item?.owner?.S).toBe(next?.owner);
  });
});

describe('digest lease on the DynamoDB API', () => {
  it('takes and gives back the lease with the attribute values it always wrote', async () => {
    const client = new DynamoDBClient({ region: 'eu-west-1' });
    const dynamo = mockClient(client);
    dynamo.on(PutItemCommand).resolves({});
    const clock = new ManualClock(T0);
    const lease = await acquireDigestLease({ client, tableName: 'audit', clock: clock.now, leaseMs: 1000 });
    clock.advance(10);
    if (lease === undefined) throw new Error('lease not taken');
    await lease.release();

    expect(dynamo).toReceiveNthCommandWith(PutItemCommand, 1, {
      TableName: 'audit',
      Item: {
        pk: { S: 'digest-lease' },
        sk: { S: 'lease' },
        owner: { S: lease.owner },
        expiresAtMs: { N: String(T0.getTime() + 1000) },
      },
      ConditionExpression: 'attribute_not_exists(#pk) OR #expiresAtMs <= :now',
      ExpressionAttributeNames: { '#pk': 'pk', '#expiresAtMs': 'expiresAtMs' },
      ExpressionAttributeValues: { ':now': { N: String(T0.getTime()) } },
    });
    expect(dynamo).toReceiveNthCommandWith(PutItemCommand, 2, {
      Item: expect.objectContaining({ expiresAtMs: { N: String(T0.getTime() + 10) } }),
      ConditionExpression: '#owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': { S: lease.owner } },
    });
    dynamo.restore();
  });
});
