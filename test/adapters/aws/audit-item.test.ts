/**
 * The items custody stores, as DynamoDB receives them: marshalled by util-dynamodb, they must be
 * the attribute values custody wrote by hand before (the digests hash what is stored, so a
 * changed type or attribute would break every existing chain).
 */
import { describe, expect, it } from 'vitest';
import {
  digestKey,
  fromDynamoItem,
  recordKey,
  recordToItem,
  toDynamoItem,
} from '../../../lambda/adapters/aws/audit-item.ts';
import { digestToItem, partToItem, type SignedDigest } from '../../../lambda/audit/item.ts';
import { canonicalJson, sha256Hex } from '../../../lambda/core/canonical-json.ts';
import { auditRecord } from '../../audit/records.ts';

const AT = '2026-03-10T10:00:01.000Z';

describe('audit items on DynamoDB', () => {
  it('stores a record with the same string attributes as before', () => {
    const record = auditRecord('exec-1', 'completed', new Date('2026-03-10T10:00:00.000Z'));
    const json = canonicalJson(record);

    expect(recordToItem(record, AT, 1)).toEqual({
      pk: { S: 'exec#exec-1' },
      sk: { S: 'completed' },
      itemType: { S: 'record' },
      record: { S: json },
      recordSha256: { S: sha256Hex(json) },
      writtenAt: { S: AT },
      gsi1pk: { S: 't#2026-03-10T10' },
      gsi1sk: { S: `${AT}#exec-1#completed` },
      callerArn: { S: record.caller.arn },
      timestamp: { S: '2026-03-10T10:00:00.000Z' },
    });
  });

  it('stores a digest head with its sequence as a number, and a part as strings', () => {
    const digest = {
      body: { sequence: 7 },
      bodyJson: '{"sequence":7}',
      digestSha256: 'd'.repeat(64),
      signature: 'c2ln',
    } as unknown as SignedDigest;

    expect(toDynamoItem(digestToItem(digest))).toEqual({
      pk: { S: 'digest' },
      sk: { S: 'seq#000000000007' },
      itemType: { S: 'digest' },
      body: { S: '{"sequence":7}' },
      digestSha256: { S: 'd'.repeat(64) },
      signature: { S: 'c2ln' },
      sequence: { N: '7' },
    });
    expect(toDynamoItem(partToItem('dpart#000000000007', 'a#0000', '[]'))).toEqual({
      pk: { S: 'dpart#000000000007' },
      sk: { S: 'a#0000' },
      itemType: { S: 'digestPart' },
      entries: { S: '[]' },
      sha256: { S: sha256Hex('[]') },
    });
  });

  it('keys records and digests as before', () => {
    expect(recordKey('exec-1', 'denied')).toEqual({ pk: { S: 'exec#exec-1' }, sk: { S: 'denied' } });
    expect(digestKey(12)).toEqual({ pk: { S: 'digest' }, sk: { S: 'seq#000000000012' } });
  });

  it('reads back a forged item of any type without throwing: only strings read as strings', () => {
    const item = fromDynamoItem({
      pk: { S: 'exec#x' },
      record: { N: '123456789012345678901234567890.5' },
      writtenAt: { BOOL: true },
    });

    expect(item.pk).toBe('exec#x');
    expect(typeof item.record).not.toBe('string');
    expect(typeof item.writtenAt).toBe('boolean');
  });
});
