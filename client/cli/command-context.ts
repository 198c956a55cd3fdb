/**
 * What each command module gets: the io, the test seams, and where it leaves its exit code.
 * A command builds its own commander `Command` (options, arguments, usage text) from this.
 */
import type { Command } from 'commander';
import type { ExitCode } from './exit-codes.ts';
import type { CliIo, CliOptions } from './io.ts';

export interface CommandContext {
  readonly io: CliIo;
  readonly options: CliOptions;
  /** Set by the command's action (commander's actions return nothing). */
  exitCode: ExitCode;
}

/** `--endpoint URL --region NAME`, for every command that calls the API (or a table). */
export function endpointOptions(command: Command): Command {
  return command
    .option(
      '--endpoint <url>',
      'the API (default: CUSTODY_ENDPOINT, else the local server in .custody/local.json)',
    )
    .option(
      '--region <name>',
      'the region to sign for (default: from the endpoint, CUSTODY_REGION, AWS_REGION)',
    );
}

/** Appends one more value of a repeatable option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
