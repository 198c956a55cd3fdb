/**
 * `custody audit report`: the audit report (`client/cli/audit-report/`) for the records of a
 * window, read from the audit table with the same store code the broker writes it with, and the
 * trail verified now (read-only). Text for a terminal, `--html FILE`, or `--json`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { DynamoDbAuditStore } from '../../../lambda/adapters/aws/dynamodb-audit-store.ts';
import { type VerifyResult, verifyAudit } from '../../../lambda/adapters/aws/dynamodb-audit-verify.ts';
import { FileAuditLog } from '../../../lambda/adapters/local/file-audit-log.ts';
import { buildAuditReport } from '../audit-report/build.ts';
import { renderAuditReportHtml } from '../audit-report/html.ts';
import { formatAuditReport } from '../audit-report/text.ts';
import { auditTarget } from '../audit-target.ts';
import { type CommandContext, endpointOptions } from '../command-context.ts';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import { type CliIo, line } from '../io.ts';
import { printableLines } from '../terminal-text.ts';
import { UsageError } from '../usage-error.ts';

export const AUDIT_REPORT_SYNOPSIS =
  'custody audit report [--since-hours N] [--recent N] [--html FILE] [--json] [--no-verify]';

/** 90 days. */
const MAX_SINCE_HOURS = 24 * 90;

function positiveInt(flag: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new UsageError(`${flag}: "${value}" must be an integer from 1 to ${max}`);
  }
  return n;
}

interface ReportFlags {
  sinceHours?: string;
  limit?: string;
  recent?: string;
  html?: string;
  json?: boolean;
  /** false with --no-verify */
  verify: boolean;
  table?: string;
  region?: string;
  endpoint?: string;
}

export function auditReportCommand(ctx: CommandContext): Command {
  const command = new Command('report')
    .description('summarise the audit trail for people: totals, denials, callers, kill switch, verification')
    .option('--since-hours <n>', 'the window in hours, by write time (default 24; 0.5 is half an hour)')
    .option('--recent <n>', 'how many executions to list (default 20)')
    .option('--limit <n>', 'the most records read (default 5000)')
    .option('--html <file>', 'write a self-contained HTML page to FILE')
    .option('--json', 'print the numbers as JSON')
    .option('--no-verify', 'do not verify the trail')
    .option('--table <name>', 'the audit table on AWS (your credentials), instead of the local stack');
  return endpointOptions(command).action(async (values: ReportFlags) => {
    ctx.exitCode = await report(values, ctx.io, ctx.options.clock ?? (() => new Date()));
  });
}

async function report(values: ReportFlags, io: CliIo, clock: () => Date): Promise<ExitCode> {
  const sinceHours = values.sinceHours === undefined ? 24 : Number(values.sinceHours);
  if (!Number.isFinite(sinceHours) || sinceHours <= 0 || sinceHours > MAX_SINCE_HOURS) {
    throw new UsageError(
      `--since-hours: "${values.sinceHours}" must be a number of hours above 0 and at most ${MAX_SINCE_HOURS} (0.5 is half an hour)`,
    );
  }
  const limit = positiveInt('--limit', values.limit, 5000, 100_000);
  const recent = positiveInt('--recent', values.recent, 20, 1000);
  const now = clock();
  const since = new Date(now.getTime() - sinceHours * 3_600_000);
  const target = auditTarget(io, values);
  try {
    const store = new DynamoDbAuditStore({ client: target.client, tableName: target.tableName });
    const records = await store.listRecent({ limit, since });

    let verification: VerifyResult | undefined;
    let verificationNote: string | undefined;
    const keyFile = target.local ? join(target.local.home, 'audit-signing-key.pem.pub.pem') : undefined;
    if (!values.verify) verificationNote = 'skipped (--no-verify)';
    else if (!target.local || !keyFile)
      verificationNote = 'the report verifies the local stack only; run custody audit verify';
    else if (!existsSync(keyFile)) verificationNote = `no audit public key at ${keyFile}`;
    else {
      // Read-only: checks what the digests cover; `custody audit verify` also digests first.
      verification = await verifyAudit({
        client: target.client,
        tableName: target.tableName,
        publicKey: readFileSync(keyFile, 'utf8'),
        anchors: await new FileAuditLog(target.local.auditLog).readDigestAnchors(),
      });
    }

    const report = buildAuditReport(records, {
      now,
      since,
      recent,
      truncated: records.length >= limit,
      ...(verification ? { verification } : {}),
      ...(verificationNote ? { verificationNote } : {}),
    });
    if (values.html !== undefined) {
      const file = resolve(io.cwd, values.html);
      try {
        writeFileSync(file, printableLines(renderAuditReportHtml(report)));
      } catch (error) {
        throw new UsageError(
          `--html: cannot write ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      }
      line(io.stderr, `custody: report written to ${file}`);
    }
    if (values.json) line(io.stdout, JSON.stringify(report, null, 2));
    else if (values.html === undefined) io.stdout.write(printableLines(formatAuditReport(report)));
    if (verification && !verification.ok) return EXIT.tampered;
    return (verification?.incomplete?.length ?? 0) > 0 ? EXIT.incomplete : EXIT.succeeded;
  } finally {
    target.client.destroy();
  }
}
