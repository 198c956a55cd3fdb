/**
 * `custody audit reconcile`: writes to the audit table the records that reached only the audit log
 * (the broker answered `auditPending: true`), from their log line, unchanged and idempotently
 * (`lambda/audit/reconcile.ts`). Locally it reads `.custody/audit.log`; on AWS (`--stack NAME`, or
 * `--table T --log-group G`, with your credentials) the audit log group, since `--since-hours`.
 * Exit 0 nothing left to do, 11 a conflict (the table holds other content under a record's key:
 * not overwritten), 8 a record could not be written (run it again).
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Command } from 'commander';
import { CloudWatchAuditLog } from '../../../lambda/adapters/aws/cloudwatch-audit-log.ts';
import { DynamoDbAuditStore } from '../../../lambda/adapters/aws/dynamodb-audit-store.ts';
import { readStackOutputs } from '../../../lambda/adapters/aws/stack-outputs.ts';
import { FileAuditLog } from '../../../lambda/adapters/local/file-audit-log.ts';
import { formatReconcileReport, reconcileAuditLog } from '../../../lambda/audit/reconcile.ts';
import { auditLogGroupNameOf } from '../../../lambda/core/stack-outputs.ts';
import { auditTarget } from '../audit-target.ts';
import { clientSet, regionOf } from '../aws-clients.ts';
import { type CommandContext, endpointOptions } from '../command-context.ts';
import { EXIT } from '../exit-codes.ts';
import { type CliIo, line } from '../io.ts';
import { UsageError } from '../usage-error.ts';

export const AUDIT_RECONCILE_SYNOPSIS =
  'custody audit reconcile [--json] [--stack NAME | --table NAME --log-group NAME] [--since-hours N]';

interface ReconcileFlags {
  json?: boolean;
  stack?: string;
  table?: string;
  logGroup?: string;
  sinceHours?: string;
  region?: string;
  endpoint?: string;
}

export function auditReconcileCommand(ctx: CommandContext): Command {
  const command = new Command('reconcile')
    .description('write the records that reached only the audit log into the audit table, unchanged')
    .option('--json', 'print the result as JSON')
    .option('--stack <name>', 'a deployed stack: its table and audit log group (your credentials)')
    .option('--table <name>', 'the audit table on AWS, instead of --stack (with --log-group)')
    .option('--log-group <name>', 'the audit log group to read')
    .option('--since-hours <n>', 'on AWS: how far back to read the log group', '24');
  return endpointOptions(command).action(async (values: ReconcileFlags) => {
    ctx.exitCode = await reconcile(values, ctx.io);
  });
}

async function reconcile(values: ReconcileFlags, io: CliIo) {
  const sinceHours = Number(values.sinceHours);
  if (!Number.isFinite(sinceHours) || sinceHours <= 0 || sinceHours > 24 * 366) {
    throw new UsageError(`--since-hours: "${values.sinceHours}" must be a number of hours from 0 to 8784`);
  }
  const aws = values.stack !== undefined || values.table !== undefined;
  const { track, close } = clientSet();
  try {
    let store: DynamoDbAuditStore;
    let lines: Iterable<string> | AsyncIterable<string>;
    let from: string;
    if (!aws) {
      if (values.logGroup !== undefined)
        throw new UsageError('--log-group applies on AWS: pass --stack or --table too');
      const target = auditTarget(io, {});
      track(target.client);
      store = new DynamoDbAuditStore({ client: target.client, tableName: target.tableName });
      const log = new FileAuditLog(target.local?.auditLog as string);
      lines = await log.readLines();
      from = log.path;
    } else {
      if (values.stack !== undefined && values.table !== undefined) {
        throw new UsageError('give either --stack NAME or --table NAME, not both');
      }
      const region = regionOf(io, values.region);
      let tableName = values.table;
      let logGroupName = values.logGroup;
      if (values.stack !== undefined) {
        const outputs = await readStackOutputs(track(new CloudFormationClient({ region })), values.stack);
        tableName = outputs.auditTableName;
        logGroupName ??= outputs.auditLogGroupName ?? auditLogGroupNameOf(values.stack);
      }
      if (logGroupName === undefined) throw new UsageError('--log-group is required with --table');
      const dynamo = track(
        new DynamoDBClient({ region, ...(values.endpoint ? { endpoint: values.endpoint } : {}) }),
      );
      store = new DynamoDbAuditStore({ client: dynamo, tableName: tableName as string });
      const log = new CloudWatchAuditLog({
        client: track(new CloudWatchLogsClient({ region })),
        logGroupName,
      });
      lines = log.readRecordLines({ since: new Date(Date.now() - sinceHours * 3_600_000) });
      from = `log group ${logGroupName}, the last ${sinceHours} h`;
    }
    line(io.stderr, `custody: reconciling audit table ${store.tableName} with ${from}`);
    const result = await reconcileAuditLog({ store, lines });
    line(io.stdout, values.json ? JSON.stringify(result, null, 2) : formatReconcileReport(result));
    if (result.conflicts.length > 0) return EXIT.tampered;
    if (result.failed.length > 0) return EXIT.unavailable;
    return EXIT.succeeded;
  } finally {
    close();
  }
}
