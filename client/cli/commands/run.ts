/** `custody run`: runs code under a profile and prints what it printed; exits with its status. */
import { Command } from 'commander';
import { CustodyApiError, type CustodyClient } from '../../index.ts';
import { type CodeFlags, printRun, readCodeRequest, summaryParts } from '../code-input.ts';
import { type CommandContext, collect, endpointOptions } from '../command-context.ts';
import { connect, type EndpointFlags } from '../endpoint.ts';
import { UsageError } from '../usage-error.ts';

export const RUN_SYNOPSIS = `custody run [FILE] [-c CODE] --profile NAME [--language LANG] [--purpose TEXT]
              [--input NAME=PATH|PATH]... [--timeout-ms N] [--output-dir DIR] [--json]`;

interface RunFlags extends CodeFlags, EndpointFlags {
  profile?: string;
}

/** A profile refused by name: the denial says which profiles the caller may use instead. */
async function withProfiles(error: unknown, client: CustodyClient): Promise<never> {
  if (!(error instanceof CustodyApiError) || !PROFILE_DENIALS.has(error.code)) throw error;
  const names = await client.listProfiles().then(
    (profiles) => profiles.map((p) => p.name),
    () => undefined,
  );
  if (names === undefined) throw error;
  const also = names.length > 0 ? `Your profiles: ${names.join(', ')}.` : 'You may use no profile now.';
  throw new CustodyApiError(error.status, error.code, `${error.message} ${also}`, {
    ...(error.executionId !== undefined ? { executionId: error.executionId } : {}),
    ...(error.requestId !== undefined ? { requestId: error.requestId } : {}),
    auditPending: error.auditPending,
  });
}

const PROFILE_DENIALS = new Set(['UNKNOWN_PROFILE', 'NO_GRANT']);

export function runCommand(ctx: CommandContext): Command {
  const command = new Command('run')
    .description('run code under an execution profile; exits with its status')
    .usage('[FILE] [-c CODE] --profile NAME [--language LANG] [options]')
    .argument('[FILE]', 'the code; its extension names the language; - or a pipe: stdin')
    .option('-c, --code <code>', 'the code itself, instead of FILE')
    .option('-p, --profile <name>', 'the execution profile (see custody profiles)')
    .option('-l, --language <lang>', 'python, javascript or typescript (py, js, ts)')
    .option('--purpose <text>', 'why, for the audit record')
    .option('--input <spec>', 'an input file, NAME=PATH or PATH (named after the file); repeatable', collect)
    .option('--timeout-ms <n>', "the time limit, at most the profile's")
    .option('--output-dir <dir>', 'save the files the run wrote in DIR')
    .option('--json', 'print the API response as JSON');
  return endpointOptions(command).action(async (_file: string | undefined, flags: RunFlags) => {
    ctx.exitCode = await run(command.args, flags, ctx);
  });
}

async function run(positionals: readonly string[], values: RunFlags, ctx: CommandContext) {
  const { io } = ctx;
  if (positionals.length > 1)
    throw new UsageError(`custody run: one FILE at most, got ${positionals.join(' ')}`);
  const file = positionals[0];
  if (file !== undefined && values.code !== undefined) {
    throw new UsageError('custody run: give the code either with -c or as FILE, not both');
  }
  if (!values.profile) throw new UsageError('custody run: --profile is required (see custody profiles)');
  const request = await readCodeRequest('custody run', file, values, io);

  const { client } = connect(io, values);
  const response = await client
    .execute({ profile: values.profile, ...request })
    .catch((error: unknown) => withProfiles(error, client));
  return printRun(response, values, io, [`custody: ${summaryParts(response).join(' · ')}`]);
}
