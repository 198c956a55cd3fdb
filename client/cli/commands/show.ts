/** `custody show`: the audit records of one execution. */
import { Command } from 'commander';
import { type CommandContext, endpointOptions } from '../command-context.ts';
import { connect, type EndpointFlags } from '../endpoint.ts';
import { EXIT } from '../exit-codes.ts';
import { line } from '../io.ts';
import { describeRecord } from '../record-line.ts';
import { printable } from '../terminal-text.ts';
import { UsageError } from '../usage-error.ts';

export const SHOW_SYNOPSIS = 'custody show EXECUTION_ID [--json]';

export function showCommand(ctx: CommandContext): Command {
  const command = new Command('show')
    .description("print an execution's audit records (yours, or any if the policy makes you an auditor)")
    .argument('[EXECUTION_ID...]', 'the execution')
    .option('--json', 'print the records as JSON');
  return endpointOptions(command).action(
    async (ids: string[], values: EndpointFlags & { json?: boolean }) => {
      const { io } = ctx;
      const [executionId, ...extra] = ids;
      if (!executionId || extra.length > 0)
        throw new UsageError('custody show: expects exactly one EXECUTION_ID');
      const { client } = connect(io, values);
      const out = await client.getExecution(executionId);
      ctx.exitCode = EXIT.succeeded;
      if (values.json) {
        line(io.stdout, JSON.stringify(out, null, 2));
        return;
      }
      for (const record of out.records) {
        line(io.stdout, describeRecord(record));
        if (record.request.codeSha256) line(io.stdout, `  code sha256   ${record.request.codeSha256}`);
        if (record.outcome?.outputSha256) line(io.stdout, `  output sha256 ${record.outcome.outputSha256}`);
        if (record.request.purpose) line(io.stdout, `  purpose       ${printable(record.request.purpose)}`);
        if (record.decision.message) line(io.stdout, `  decision      ${printable(record.decision.message)}`);
      }
    },
  );
}
