/** `custody version` (also `--version`, `-V`): the package version. */
import { Command } from 'commander';
import type { CommandContext } from '../command-context.ts';
import { EXIT } from '../exit-codes.ts';
import { line } from '../io.ts';
import { packageVersion } from '../package-version.ts';

export function versionCommand(ctx: CommandContext): Command {
  return new Command('version').description('print the version').action(() => {
    line(ctx.io.stdout, packageVersion());
    ctx.exitCode = EXIT.succeeded;
  });
}
