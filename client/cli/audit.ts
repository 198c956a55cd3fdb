/**
 * `custody audit tail` and `custody audit verify`: the audit trail read straight from the audit
 * table with the same store code the broker writes it with, locally (the dynalite endpoint in
 * `.custody/local.json`) or on AWS (`--table`, or for verify `--stack`, with your AWS credentials).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { CloudWatchAuditLog } from '../../lambda/adapters/aws/cloudwatch-audit-log.ts';
import { DynamoDbAuditStore } from '../../lambda/adapters/aws/dynamodb-audit-store.ts';
import { KmsAuditSigner } from '../../lambda/adapters/aws/kms-audit-signer.ts';
import { readStackOutputs } from '../../lambda/adapters/aws/stack-outputs.ts';
import { FileAuditLog } from '../../lambda/adapters/local/file-audit-log.ts';
import { FileAuditSigner } from '../../lambda/adapters/local/file-audit-signer.ts';
import { type AuditLineLog, type DigestAnchor, verificationLine } from '../../lambda/audit/audit-log-line.ts';
import { digestUntilCurrent } from '../../lambda/audit/digest.ts';
import { formatReconcileReport, reconcileAuditLog } from '../../lambda/audit/reconcile.ts';
import { formatVerifyReport, verifyAudit } from '../../lambda/audit/verify.ts';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import type { PublicKeyInput } from '../../lambda/core/audit-signer.ts';
import type { Clock } from '../../lambda/core/ports.ts';
import { AUDIT_SIGNING_KEY_OUTPUT, auditLogGroupNameOf } from '../../lambda/core/stack-outputs.ts';
import { CustodyConfigError } from '../index.ts';
import { clientSet, regionOf } from './aws-clients.ts';
import { type CliIo, describeRecord, EXIT, line, localStack, parseCommandArgs, UsageError } from './main.ts';

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

export interface AuditVerifyOptions {
  /** "Now" for the verification (digest lag, future-dated records) and the recorded line. @default () => new Date() */
  readonly clock?: Clock;
}

const VERIFY_OPTIONS = {
  recent: { type: 'string' },
  json: { type: 'boolean' },
  'no-digest': { type: 'boolean' },
  record: { type: 'boolean' },
  stack: { type: 'string' },
  table: { type: 'string' },
  'key-id': { type: 'string' },
  'log-group': { type: 'string' },
} as const;

/** What one verification reads: the table, the public key, the digest anchors; and where `--record` writes. */
interface VerifySource {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly publicKey: () => Promise<PublicKeyInput>;
  readonly anchors: () => Promise<DigestAnchor[]>;
  /** Says what is verified against what (printed on stderr). */
  readonly describe: (anchors: number) => string;
  readonly warnings: readonly string[];
  readonly log?: AuditLineLog;
  /** Local mode: digest what is due before verifying (the server's timer would). */
  readonly digestFirst?: () => Promise<void>;
  readonly close: () => void;
}

/**
 * `custody audit verify`: the local stack (writes any due digest first), or a deployed one
 * (`--stack NAME`, or `--table T --key-id K [--log-group G]`) read with your own credentials: the
 * table, the signing key's public key (KMS GetPublicKey; signatures are checked here, with
 * node:crypto, never by a KMS Verify call), and the digest anchors in the audit log group.
 * Exit 0 intact, 1 tampered (the report names the first bad record and what is wrong with it),
 * 10 incomplete (no tampering, but a started execution has no outcome after its deadline).
 */
export async function auditVerify(
  args: string[],
  io: CliIo,
  options: AuditVerifyOptions = {},
): Promise<number> {
  const { values } = parseCommandArgs('audit verify', args, VERIFY_OPTIONS, false);
  let recentDigests: number | undefined;
  if (values.recent !== undefined) {
    recentDigests = Number(values.recent);
    if (!Number.isInteger(recentDigests) || recentDigests < 1) {
      throw new UsageError(`--recent: "${values.recent}" must be a positive integer`);
    }
  }
  const clock = options.clock ?? (() => new Date());
  const aws = values.stack !== undefined || values.table !== undefined;
  if (!aws && (values['key-id'] !== undefined || values['log-group'] !== undefined)) {
    throw new UsageError('--key-id and --log-group apply on AWS: pass --stack NAME or --table NAME too');
  }
  if (aws && values['no-digest']) {
    throw new UsageError(
      '--no-digest applies to the local stack: on AWS the digester Lambda writes the digests and verify only reads',
    );
  }
  const source = aws ? await awsVerifySource(io, values) : await localVerifySource(io, clock);
  try {
    if (values.record && source.log === undefined) {
      throw new UsageError(
        '--record writes the result to the audit log group: pass --log-group GROUP (or --stack)',
      );
    }
    if (!values['no-digest']) await source.digestFirst?.();
    // The key first: a wrong or unreadable key is said before the table is read.
    const publicKey = await source.publicKey();
    const anchors = await source.anchors();
    line(io.stderr, `custody: ${source.describe(anchors.length)}`);
    for (const warning of source.warnings) line(io.stderr, `custody: warning: ${warning}`);
    const result = await verifyAudit({
      client: source.client,
      tableName: source.tableName,
      publicKey,
      anchors,
      clock,
      ...(recentDigests !== undefined ? { recentDigests } : {}),
    });
    line(io.stdout, values.json ? JSON.stringify(result, null, 2) : formatVerifyReport(result));
    const exit = !result.ok ? EXIT.failed : result.incomplete.length > 0 ? EXIT.incomplete : EXIT.succeeded;
    if (values.record && source.log !== undefined) {
      try {
        // The same line the digester writes after each run: the dashboard's "Last audit verification".
        await source.log.writeLine(verificationLine(result, clock()));
      } catch (error) {
        line(io.stderr, `custody: the result was not recorded in the audit log: ${(error as Error).message}`);
        return result.ok ? EXIT.unavailable : exit;
      }
    }
    return exit;
  } finally {
    source.close();
  }
}

async function localVerifySource(io: CliIo, clock: Clock): Promise<VerifySource> {
  const target = auditTarget(io, {});
  const local = target.local;
  if (!local) throw new CustodyConfigError('audit verify reads the local stack (.custody/local.json)');
  const keyFile = join(local.home, 'audit-signing-key.pem');
  if (!existsSync(keyFile)) {
    target.client.destroy();
    throw new CustodyConfigError(`no audit signing key at ${keyFile}: start local mode (npm start) first`);
  }
  const log = new FileAuditLog(local.auditLog);
  return {
    client: target.client,
    tableName: target.tableName,
    // Verification needs only the public key.
    publicKey: async () => readFileSync(`${keyFile}.pub.pem`, 'utf8'),
    anchors: () => log.readDigestAnchors(),
    describe: (anchors) =>
      `verifying the local audit table ${target.tableName} with ${keyFile}.pub.pem; ${anchors} digest anchors from ${local.auditLog}`,
    warnings: [],
    log,
    digestFirst: async () => {
      // Records that reached only the audit log (auditPending) go back to the table first ...
      const store = new DynamoDbAuditStore({ client: target.client, tableName: target.tableName });
      const reconciled = await reconcileAuditLog({ store, lines: await log.readLines() });
      if (reconciled.written.length > 0 || reconciled.conflicts.length > 0 || reconciled.failed.length > 0) {
        line(io.stderr, `custody: ${formatReconcileReport(reconciled).replaceAll('\n', '\ncustody: ')}`);
      }
      // ... then digest what has settled, so the check covers all but the last minute.
      const signer = await FileAuditSigner.open(keyFile);
      await digestUntilCurrent({ client: target.client, tableName: target.tableName, signer, log, clock });
    },
    close: () => target.client.destroy(),
  };
}

async function awsVerifySource(
  io: CliIo,
  values: {
    stack?: string;
    table?: string;
    'key-id'?: string;
    'log-group'?: string;
    region?: string;
    endpoint?: string;
  },
): Promise<VerifySource> {
  if (values.stack !== undefined && values.table !== undefined) {
    throw new UsageError('give either --stack NAME or --table NAME, not both');
  }
  if (values.table !== undefined && values['key-id'] === undefined) {
    throw new UsageError(
      '--key-id is required with --table: the KMS key that signs the digests (stack output AuditSigningKeyArn)',
    );
  }
  const region = regionOf(io, values.region);
  const { track, close } = clientSet();
  try {
    let tableName = values.table;
    let keyId = values['key-id'];
    let logGroupName = values['log-group'];
    if (values.stack !== undefined) {
      const outputs = await readStackOutputs(track(new CloudFormationClient({ region })), values.stack);
      tableName = outputs.auditTableName;
      keyId ??= outputs.auditSigningKeyArn;
      // Stacks deployed before the output existed: the group is named after the stack.
      logGroupName ??= outputs.auditLogGroupName ?? auditLogGroupNameOf(values.stack);
      if (keyId === undefined) {
        throw new CustodyConfigError(
          `stack ${values.stack} has no ${AUDIT_SIGNING_KEY_OUTPUT} output (deployed before it existed): redeploy it, or pass --key-id with the digest signing key`,
        );
      }
    }
    const table = tableName as string;
    const key = keyId as string;
    const signer = new KmsAuditSigner({ client: track(new KMSClient({ region })), keyId: key });
    const log =
      logGroupName === undefined
        ? undefined
        : new CloudWatchAuditLog({
            client: track(new CloudWatchLogsClient({ region })),
            logGroupName,
            logStreamName: `custody-audit-verify/${new Date().toISOString().slice(0, 10)}/${randomUUID()}`,
          });
    const dynamo = track(
      new DynamoDBClient({ region, ...(values.endpoint ? { endpoint: values.endpoint } : {}) }),
    );
    return {
      client: dynamo,
      tableName: table,
      publicKey: () => signer.publicKey(),
      anchors: async () => (log === undefined ? [] : log.readDigestAnchors()),
      describe: (anchors) =>
        `verifying audit table ${table} (${region}) with the public key of ${key} (KMS GetPublicKey, signatures checked here); ` +
        (log === undefined
          ? 'no audit log group'
          : `${anchors} digest anchors from log group ${log.logGroupName}`),
      warnings:
        log === undefined
          ? [
              'no --log-group: the digests are not checked against their copy in the audit log group, so deleting the newest digests together with their records is noticed only by the digest lag',
            ]
          : [],
      ...(log === undefined ? {} : { log }),
      close,
    };
  } catch (error) {
    close();
    throw error;
  }
}
