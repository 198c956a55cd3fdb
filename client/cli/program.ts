/**
 * The `custody` program: one commander command per module under `commands/`, each with its own
 * options and `--help`; errors from parsing become UsageErrors naming the command, and nothing is
 * written by commander itself except help and the version.
 */
import { Command, type CommanderError } from 'commander';
import type { CommandContext } from './command-context.ts';
import { auditCommand } from './commands/audit.ts';
import { AUDIT_RECONCILE_SYNOPSIS } from './commands/audit-reconcile.ts';
import { AUDIT_REPORT_SYNOPSIS } from './commands/audit-report.ts';
import { AUDIT_TAIL_SYNOPSIS } from './commands/audit-tail.ts';
import { AUDIT_VERIFY_SYNOPSIS } from './commands/audit-verify.ts';
import { MCP_SYNOPSIS, mcpCommand } from './commands/mcp.ts';
import { PROFILES_SYNOPSIS, profilesCommand } from './commands/profiles.ts';
import { killSwitchCommand } from './commands/revoke.ts';
import { RUN_SYNOPSIS, runCommand } from './commands/run.ts';
import { SESSION_SYNOPSIS, sessionCommand } from './commands/session.ts';
import { SHOW_SYNOPSIS, showCommand } from './commands/show.ts';
import { versionCommand } from './commands/version.ts';
import { EXIT } from './exit-codes.ts';
import type { CliIo } from './io.ts';
import { packageVersion } from './package-version.ts';
import { UsageError } from './usage-error.ts';

const USAGE = `custody — run code under an IAM-bound execution profile

Usage:
  ${RUN_SYNOPSIS}
  ${PROFILES_SYNOPSIS}
  ${SHOW_SYNOPSIS}
  ${SESSION_SYNOPSIS}
  ${AUDIT_TAIL_SYNOPSIS}
  ${AUDIT_VERIFY_SYNOPSIS}
  ${AUDIT_REPORT_SYNOPSIS}
  ${AUDIT_RECONCILE_SYNOPSIS}
  custody revoke --profile NAME | --principal ID [--reason TEXT] [--stack NAME]
  custody reinstate --profile NAME | --principal ID [--stack NAME]
  ${MCP_SYNOPSIS}
  custody version | --version | -V
  custody COMMAND --help

Options for every command that calls the API:
  --endpoint URL   the API (default: CUSTODY_ENDPOINT, else the local server in .custody/local.json,
                   found in the working directory or a parent)
  --region NAME    the region to sign for (default: from the endpoint, CUSTODY_REGION, AWS_REGION)

Credentials: the AWS default chain (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE, env, SSO, roles).
Local mode: AWS_SHARED_CREDENTIALS_FILE=.custody/credentials AWS_PROFILE=agent custody run ...

Exit codes: 0 succeeded, 1 code failed, 2 usage, 3 timed out, 4 out of memory, 5 output limit,
            6 denied, 7 request rejected (400/404/409/410/413/429), 8 service unavailable, 9 no credentials/endpoint,
            10 audit incomplete (a started execution has no outcome after its deadline),
            11 audit trail tampered, 12 internal error (a bug in custody).
`;

/** Thrown by commander once it has printed help or the version: nothing else to do. */
export class ParseExit extends Error {
  constructor(readonly exitCode: number) {
    super('parse exit');
    this.name = 'ParseExit';
  }
}

export function buildProgram(ctx: CommandContext): Command {
  const program = new Command('custody')
    .version(packageVersion(), '-V, --version', 'print the version')
    .configureHelp({ formatHelp: () => USAGE })
    .addCommand(runCommand(ctx))
    .addCommand(profilesCommand(ctx))
    .addCommand(showCommand(ctx))
    .addCommand(sessionCommand(ctx))
    .addCommand(auditCommand(ctx))
    .addCommand(killSwitchCommand('revoke', ctx))
    .addCommand(killSwitchCommand('reinstate', ctx))
    .addCommand(mcpCommand(ctx))
    .addCommand(versionCommand(ctx))
    .helpCommand(true)
    .action(() => {
      program.outputHelp();
      ctx.exitCode = EXIT.succeeded;
    });
  configure(program, ctx.io);
  return program;
}

/** The command as typed: `custody audit verify`. */
function path(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Commander's message as a sentence: "error: unknown option '--x'" -> "Unknown option '--x'." */
function sentence(message: string): string {
  const [first = '', ...rest] = message.replace(/^error: /, '').split('\n');
  const head = `${first.charAt(0).toUpperCase()}${first.slice(1)}`;
  return [head.endsWith('.') ? head : `${head}.`, ...rest].join(' ');
}

function parseFailure(command: Command, error: CommanderError): Error {
  if (error.exitCode === 0) return new ParseExit(EXIT.succeeded);
  const group = command.commands.length > 0;
  if (group && (error.code === 'commander.unknownCommand' || error.code === 'commander.excessArguments')) {
    const name = command.args[0] ?? '';
    const known = command.commands.map((c) => c.name()).filter((n) => n !== 'help' && n !== 'version');
    return command.parent
      ? new UsageError(`${path(command)}: unknown subcommand "${name}" (${known.join(', ')})`)
      : new UsageError(`${path(command)}: unknown command "${name}" (${known.join(', ')})`);
  }
  return new UsageError(`${path(command)}: ${sentence(error.message)} (see ${path(command)} --help)`);
}

/** Every command: errors thrown (not process.exit), output to the io, commander's own error lines off. */
function configure(command: Command, io: CliIo): void {
  command
    .exitOverride((error) => {
      throw parseFailure(command, error);
    })
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: () => {},
    });
  for (const sub of command.commands) configure(sub, io);
}
