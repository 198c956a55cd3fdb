/**
 * `custody audit tail` and `custody audit verify`: the audit trail read straight from the audit
 * table with the same store code the broker writes it with, locally (the dynalite endpoint in
 * `.custody/local.json`) or on AWS (`--table`, with your AWS credentials).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { digestUntilCurrent } from '../lambda/audit/digest.ts';
import { DynamoDbAuditStore } from '../lambda/audit/dynamodb-audit-store.ts';
import { FileAuditLog } from '../lambda/audit/file-audit-log.ts';
import { FileAuditSigner } from '../lambda/audit/file-audit-signer.ts';
import { formatVerifyReport, verifyAudit } from '../lambda/audit/verify.ts';
import type { AuditRecord } from '../lambda/core/audit-record.ts';
import { type CliIo, describeRecord, EXIT, line, localStack, parseCommandArgs, UsageError } from './cli.ts';
import { CustodyConfigError } from './index.ts';

interface AuditTarget {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly local?: NonNullable<ReturnType<typeof localStack>>;
}

export function auditTarget(
  io: CliIo,
  flags: { table?: string; region?: string; endpoint?: string },
): AuditTarget {
  if (flags.table) {
    const region = flags.region ?? (io.env.AWS_REGION || io.env.AWS_DEFAULT_REGION);
    if (!region) throw new UsageError('--region is required with --table (or set AWS_REGION)');
    return {
      client: new DynamoDBClient({ region, ...(flags.endpoint ? { endpoint: flags.endpoint } : {}) }),
      tableName: flags.table,
    };
  }
  const local = localStack(io);
  if (!local) {
    throw new CustodyConfigError(
      'no local stack: start it with `npm start` (which writes .custody/local.json), or pass --table for the AWS table',
    );
  }
  return {
    client: new DynamoDBClient({
      endpoint: local.dynamodbEndpoint,
      region: local.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 2,
    }),
    tableName: local.auditTableName,
    local,
  };
}

function key(r: AuditRecord): string {
  return `${r.executionId}/${r.event}`;
}

export async function auditTail(args: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(
    'audit tail',
    args,
    {
      lines: { type: 'string', short: 'n' },
      follow: { type: 'boolean', short: 'f' },
      json: { type: 'boolean' },
      table: { type: 'string' },
      'interval-ms': { type: 'string' },
    },
    false,
  );
  const limit = values.lines === undefined ? 20 : Number(values.lines);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new UsageError(`-n/--lines: "${values.lines}" must be an integer from 1 to 1000`);
  }
  const intervalMs = values['interval-ms'] === undefined ? 2000 : Number(values['interval-ms']);
  if (!Number.isInteger(intervalMs) || intervalMs < 100) {
    throw new UsageError(`--interval-ms: "${values['interval-ms']}" must be an integer of at least 100`);
  }
  const target = auditTarget(io, values);
  const store = new DynamoDbAuditStore({ client: target.client, tableName: target.tableName });
  const seen = new Set<string>();
  const print = (records: AuditRecord[]) => {
    for (const r of [...records].reverse()) {
      if (seen.has(key(r))) continue;
      seen.add(key(r));
      line(io.stdout, values.json ? JSON.stringify(r) : describeRecord(r));
    }
  };
  try {
    print(await store.listRecent({ limit }));
    while (values.follow) {
      await new Promise((r) => setTimeout(r, intervalMs));
      print(await store.listRecent({ limit: 200, since: new Date(Date.now() - 10 * 60_000) }));
    }
    return EXIT.succeeded;
  } finally {
    target.client.destroy();
  }
}

export async function auditVerify(args: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(
    'audit verify',
    args,
    { recent: { type: 'string' }, json: { type: 'boolean' }, 'no-digest': { type: 'boolean' } },
    false,
  );
  let recentDigests: number | undefined;
  if (values.recent !== undefined) {
    recentDigests = Number(values.recent);
    if (!Number.isInteger(recentDigests) || recentDigests < 1) {
      throw new UsageError(`--recent: "${values.recent}" must be a positive integer`);
    }
  }
  const target = auditTarget(io, {});
  const local = target.local;
  if (!local) throw new CustodyConfigError('audit verify reads the local stack (.custody/local.json)');
  const keyFile = join(local.home, 'audit-signing-key.pem');
  if (!existsSync(keyFile)) {
    throw new CustodyConfigError(`no audit signing key at ${keyFile}: start local mode (npm start) first`);
  }
  try {
    const log = new FileAuditLog(local.auditLog);
    // Digest what has settled first (as the server's timer would), so the check covers all but the last minute.
    if (!values['no-digest']) {
      const signer = await FileAuditSigner.open(keyFile);
      await digestUntilCurrent({ client: target.client, tableName: target.tableName, signer, log });
    }
    // Verification needs only the public key.
    const result = await verifyAudit({
      client: target.client,
      tableName: target.tableName,
      publicKey: readFileSync(`${keyFile}.pub.pem`, 'utf8'),
      anchors: await log.readDigestAnchors(),
      ...(recentDigests !== undefined ? { recentDigests } : {}),
    });
    line(io.stdout, values.json ? JSON.stringify(result, null, 2) : formatVerifyReport(result));
    return result.ok ? EXIT.succeeded : EXIT.failed;
  } finally {
    target.client.destroy();
  }
}
