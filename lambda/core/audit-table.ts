/**
 * The shape of the DynamoDB audit table, shared by the CDK construct that creates it on AWS and
 * the local mode that creates it in dynalite, so both stores are the same table.
 */

export const AUDIT_TABLE = {
  /** Partition key (S). Execution events: `exec#<executionId>`; other item kinds choose their own prefix. */
  partitionKey: 'pk',
  /** Sort key (S). For execution events: the event kind (`started`, `completed`, `denied`). */
  sortKey: 'sk',
  /** GSI listing events in time order: partition `gsi1pk` (S, a time bucket), sort `gsi1sk` (S). */
  byTimeIndex: { name: 'byTime', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  /** GSI listing a caller's events in time order ("everything principal X ran"). */
  byCallerIndex: { name: 'byCaller', partitionKey: 'callerArn', sortKey: 'timestamp' },
} as const;

/** Default table name in local mode. */
export const LOCAL_AUDIT_TABLE_NAME = 'custody-audit';
