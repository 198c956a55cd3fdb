/**
 * Audit table items as DynamoDB holds them: the plain attribute maps of `lambda/audit/item.ts`,
 * marshalled with `@aws-sdk/util-dynamodb` (strings `S`, numbers `N`, booleans `BOOL`), and the
 * conditional put that never replaces an item.
 */
import { type AttributeValue, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import {
  digestKey as digestKeyAttributes,
  recordKey as recordKeyAttributes,
  recordToItem as recordToAttributes,
} from '../../audit/item.ts';
import type { AuditItem } from '../../core/audit-chain.ts';
import type { AuditEvent, AuditRecord } from '../../core/audit-record.ts';
import { AUDIT_TABLE } from '../../core/audit-table.ts';

/** An item as the DynamoDB API carries it. */
export type Item = Record<string, AttributeValue>;

/** Marshals a plain item (undefined attributes are left out). */
export function toDynamoItem(item: AuditItem): Item {
  return marshall(item, { removeUndefinedValues: true });
}

/**
 * Unmarshals an item as it is stored. Numbers stay wrapped (a forged number beyond 2^53 would
 * otherwise throw before the verifier can name the item), so every attribute custody reads as a
 * string is read as what it is.
 */
export function fromDynamoItem(item: Item): AuditItem {
  return unmarshall(item, { wrapNumbers: true });
}

/** The key of an execution's event. */
export function recordKey(executionId: string, event: AuditEvent): Item {
  return marshall(recordKeyAttributes(executionId, event));
}

/** The key of digest head `sequence`. */
export function digestKey(sequence: number): Item {
  return marshall(digestKeyAttributes(sequence));
}

/** A record's item, written at `writtenAt` (see `lambda/audit/item.ts`). */
export function recordToItem(record: AuditRecord, writtenAt: string, shards: number): Item {
  return toDynamoItem(recordToAttributes(record, writtenAt, shards));
}

/**
 * An item's size as DynamoDB counts it against its 400 KB limit: for each attribute, the UTF-8
 * bytes of its name plus its value (strings: UTF-8 bytes; numbers: at most their digits; binary:
 * its bytes). A safe upper bound for the attribute types custody writes.
 */
export function itemSizeBytes(item: Item): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    bytes += Buffer.byteLength(name, 'utf8');
    if (value.S !== undefined) bytes += Buffer.byteLength(value.S, 'utf8');
    else if (value.N !== undefined) bytes += value.N.length + 1;
    else if (value.B !== undefined) bytes += value.B.byteLength;
    else bytes += Buffer.byteLength(JSON.stringify(value), 'utf8');
  }
  return bytes;
}

/**
 * The PutItem of a new item: DynamoDB refuses it (ConditionalCheckFailedException) when an item
 * with the same key exists, so a write never replaces what is in the table.
 */
export function putNewItemCommand(tableName: string, item: Item): PutItemCommand {
  return new PutItemCommand({
    TableName: tableName,
    Item: item,
    ConditionExpression: 'attribute_not_exists(#pk)',
    ExpressionAttributeNames: { '#pk': AUDIT_TABLE.partitionKey },
  });
}
