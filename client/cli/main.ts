/**
 * The `custody` command line: run code, list profiles, show an execution's record, read and verify
 * the audit trail, pull the kill switch, and serve the MCP tool. See `docs/local.md` for the
 * reference and the exit codes; each command is a module under `commands/`.
 *
 * `main` takes its arguments, streams and environment as parameters and returns the exit code,
 * so `bin/cli.ts` stays a two-line adapter and tests can drive it in-process.
 */
import type { CommandContext } from './command-context.ts';
import { EXIT } from './exit-codes.ts';
import type { CliIo, CliOptions } from './io.ts';
import { buildProgram, ParseExit } from './program.ts';
import { reportError } from './report-error.ts';

/** Runs one CLI invocation; returns the exit code. Never throws. */
export async function main(argv: readonly string[], io: CliIo, options: CliOptions = {}): Promise<number> {
  const ctx: CommandContext = { io, options, exitCode: EXIT.succeeded };
  try {
    await buildProgram(ctx).parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof ParseExit) return error.exitCode;
    return reportError(error, io);
  }
}
