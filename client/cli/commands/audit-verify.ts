/**
 * `custody audit verify`: the local stack (writes any due digest first), or a deployed one
 * (`--stack NAME`, or `--table T --key-id K [--log-group G]`) read with your own credentials: the
 * table, the signing key's public key (KMS GetPublicKey; signatures are checked here, with
 * node:crypto, never by a KMS Verify call), and the digest anchors in the audit log group.
 * Exit 0 intact, 11 tampered (the report names the first bad record and what is wrong with it),
 * 10 incomplete (no tampering, but a started execution has no outcome after its deadline).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { Command } from 'commander';
import { CloudWatchAuditLog } from '../../../lambda/adapters/aws/cloudwatch-audit-log.ts';
import { DynamoDbAuditStore } from '../../../lambda/adapters/aws/dynamodb-audit-store.ts';
import { formatVerifyReport, verifyAudit } from '../../../lambda/adapters/aws/dynamodb-audit-verify.ts';
import { digestUntilCurrent } from '../../../lambda/adapters/aws/dynamodb-digests.ts';
import { KmsAuditSigner } from '../../../lambda/adapters/aws/kms-audit-signer.ts';
import { readStackOutputs } from '../../../lambda/adapters/aws/stack-outputs.ts';
import { FileAuditLog } from '../../../lambda/adapters/local/file-audit-log.ts';
import { FileAuditSigner } from '../../../lambda/adapters/local/file-audit-signer.ts';
import {
  type AuditLineLog,
  type DigestAnchor,
  verificationLine,
} from '../../../lambda/audit/audit-log-line.ts';
import { formatReconcileReport, reconcileAuditLog } from '../../../lambda/audit/reconcile.ts';
import type { PublicKeyInput } from '../../../lambda/core/audit-signer.ts';
import type { Clock } from '../../../lambda/core/ports.ts';
import { AUDIT_SIGNING_KEY_OUTPUT, auditLogGroupNameOf } from '../../../lambda/core/stack-outputs.ts';
import { CustodyConfigError } from '../../index.ts';
import { auditTarget } from '../audit-target.ts';
import { clientSet, regionOf } from '../aws-clients.ts';
import { type CommandContext, endpointOptions } from '../command-context.ts';
import { EXIT } from '../exit-codes.ts';
import { type CliIo, line } from '../io.ts';
import { UsageError } from '../usage-error.ts';

export const AUDIT_VERIFY_SYNOPSIS = `custody audit verify [--recent N] [--json] [--record] [--no-digest]
  custody audit verify --stack NAME | --table NAME --key-id KEY [--log-group NAME]
                       [--region R] [--recent N] [--json] [--record]`;

interface VerifyFlags {
  recent?: string;
  json?: boolean;
  /** false with --no-digest */
  digest: boolean;
  record?: boolean;
  stack?: string;
  table?: string;
  keyId?: string;
  logGroup?: string;
  region?: string;
  endpoint?: string;
}

export function auditVerifyCommand(ctx: CommandContext): Command {
  const command = new Command('verify')
    .description('check the digest chain, its signatures and every covered record; name the first problem')
    .usage(
      '[--recent N] [--json] [--record] [--no-digest] | --stack NAME | --table NAME --key-id KEY [options]',
    )
    .option('--recent <n>', 'check only the last N digests')
    .option('--json', 'print the result as JSON')
    .option('--record', 'append the result to the audit log as an auditVerification line')
    .option('--no-digest', 'local stack: do not write the due digest first')
    .option('--stack <name>', 'a deployed stack: its table, signing key and log group (your credentials)')
    .option('--table <name>', 'the audit table on AWS, instead of --stack')
    .option('--key-id <key>', 'with --table: the KMS key that signs the digests')
    .option('--log-group <name>', 'the audit log group holding the digest anchors');
  return endpointOptions(command).action(async (values: VerifyFlags) => {
    ctx.exitCode = await verify(values, ctx.io, ctx.options.clock ?? (() => new Date()));
  });
}

async function verify(values: VerifyFlags, io: CliIo, clock: Clock) {
  let recentDigests: number | undefined;
  if (values.recent !== undefined) {
    recentDigests = Number(values.recent);
    if (!Number.isInteger(recentDigests) || recentDigests < 1) {
      throw new UsageError(`--recent: "${values.recent}" must be a positive integer`);
    }
  }
  const aws = values.stack !== undefined || values.table !== undefined;
  if (!aws && (values.keyId !== undefined || values.logGroup !== undefined)) {
    throw new UsageError('--key-id and --log-group apply on AWS: pass --stack NAME or --table NAME too');
  }
  if (aws && !values.digest) {
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
    if (values.digest) await source.digestFirst?.();
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
    const exit = !result.ok ? EXIT.tampered : result.incomplete.length > 0 ? EXIT.incomplete : EXIT.succeeded;
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

async function awsVerifySource(io: CliIo, values: VerifyFlags): Promise<VerifySource> {
  if (values.stack !== undefined && values.table !== undefined) {
    throw new UsageError('give either --stack NAME or --table NAME, not both');
  }
  if (values.table !== undefined && values.keyId === undefined) {
    throw new UsageError(
      '--key-id is required with --table: the KMS key that signs the digests (stack output AuditSigningKeyArn)',
    );
  }
  const region = regionOf(io, values.region);
  const { track, close } = clientSet();
  try {
    let tableName = values.table;
    let keyId = values.keyId;
    let logGroupName = values.logGroup;
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
