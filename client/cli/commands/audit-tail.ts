/**
 * `custody audit tail`: the latest audit records, oldest first, read straight from the audit table
 * with the store code the broker writes it with; `--follow` then prints each new record once, in
 * the order it was written.
 */
import { Command } from 'commander';
import { DynamoDbAuditStore } from '../../../lambda/adapters/aws/dynamodb-audit-store.ts';
import type { AuditRecord } from '../../../lambda/core/audit-record.ts';
import { auditTarget } from '../audit-target.ts';
import { type CommandContext, endpointOptions } from '../command-context.ts';
import { EXIT } from '../exit-codes.ts';
import { line } from '../io.ts';
import { describeRecord } from '../record-line.ts';
import { UsageError } from '../usage-error.ts';

export const AUDIT_TAIL_SYNOPSIS = 'custody audit tail [-n N] [--follow] [--json] [--table NAME]';

/** How far back each `--follow` poll looks (records are listed by the time they were written). */
const FOLLOW_WINDOW_MS = 10 * 60_000;
const FOLLOW_PAGE = 200;

interface TailFlags {
  lines?: string;
  follow?: boolean;
  json?: boolean;
  table?: string;
  intervalMs?: string;
  endpoint?: string;
  region?: string;
}

function key(r: AuditRecord): string {
  return `${r.executionId}/${r.event}`;
}

const defaultPause = (ms: number) => new Promise<boolean>((r) => setTimeout(() => r(true), ms));

export function auditTailCommand(ctx: CommandContext): Command {
  const command = new Command('tail')
    .description('print the latest audit records; --follow keeps printing new ones')
    .option('-n, --lines <n>', 'how many records (1 to 1000)', '20')
    .option('-f, --follow', 'then print each new record as it is written')
    .option('--interval-ms <n>', 'how often --follow polls', '2000')
    .option('--json', 'one JSON record per line')
    .option('--table <name>', 'the audit table on AWS (your credentials), instead of the local stack');
  return endpointOptions(command).action(async (values: TailFlags) => {
    ctx.exitCode = await tail(values, ctx);
  });
}

async function tail(values: TailFlags, ctx: CommandContext) {
  const { io } = ctx;
  const limit = Number(values.lines);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new UsageError(`-n/--lines: "${values.lines}" must be an integer from 1 to 1000`);
  }
  const intervalMs = Number(values.intervalMs);
  if (!Number.isInteger(intervalMs) || intervalMs < 100) {
    throw new UsageError(`--interval-ms: "${values.intervalMs}" must be an integer of at least 100`);
  }
  const pause = ctx.options.pause ?? defaultPause;
  const target = auditTarget(io, values);
  const store = new DynamoDbAuditStore({ client: target.client, tableName: target.tableName });
  const seen = new Set<string>();
  /** Prints the records of a newest-first listing not printed yet, oldest first. */
  const print = (newestFirst: readonly AuditRecord[]) => {
    for (const r of [...newestFirst].reverse()) {
      if (seen.has(key(r))) continue;
      seen.add(key(r));
      line(io.stdout, values.json ? JSON.stringify(r) : describeRecord(r));
    }
  };
  const window = () =>
    store.listRecent({ limit: FOLLOW_PAGE, since: new Date(Date.now() - FOLLOW_WINDOW_MS) });
  try {
    const last = await store.listRecent({ limit });
    print(last);
    if (!values.follow) return EXIT.succeeded;
    // Records already in the table before the last N are not new: mark them seen. Only those
    // written after the newest one printed (earlier in the newest-first listing) are printed.
    const current = await window();
    const newest = last[0];
    const at = newest === undefined ? -1 : current.findIndex((r) => key(r) === key(newest));
    for (const r of at < 0 ? [] : current.slice(at)) seen.add(key(r));
    print(at < 0 ? current : current.slice(0, at));
    while (await pause(intervalMs)) print(await window());
    return EXIT.succeeded;
  } finally {
    target.client.destroy();
  }
}
