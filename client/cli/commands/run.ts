/** `custody run`: runs code under a profile and prints what it printed; exits with its status. */
import { resolve } from 'node:path';
import { Command } from 'commander';
import type { Language } from '../../../lambda/core/types.ts';
import { CustodyApiError, type CustodyClient, describeError, type ExecutionResponse } from '../../index.ts';
import { type CommandContext, collect, endpointOptions } from '../command-context.ts';
import { connect } from '../endpoint.ts';
import { exitForStatus } from '../exit-codes.ts';
import { readInputs, saveOutputs } from '../files.ts';
import { line, readAll, readText } from '../io.ts';
import { languageOfFile, parseLanguage } from '../language.ts';
import { UsageError } from '../usage-error.ts';

export const RUN_SYNOPSIS = `custody run [FILE] [-c CODE] --profile NAME [--language LANG] [--purpose TEXT]
              [--input NAME=PATH|PATH]... [--timeout-ms N] [--output-dir DIR] [--json]`;

interface RunFlags {
  code?: string;
  profile?: string;
  language?: string;
  purpose?: string;
  input?: string[];
  timeoutMs?: string;
  outputDir?: string;
  json?: boolean;
  endpoint?: string;
  region?: string;
}

/** One-line summary of an execution, for people. */
function summary(response: ExecutionResponse): string {
  const parts = [
    `${response.status} in ${Math.round(response.durationMs)} ms`,
    `execution ${response.executionId}`,
    `role session ${response.role.sessionName} (${response.role.arn})`,
  ];
  if (response.truncated) parts.push('output truncated');
  if (response.files && Object.keys(response.files).length > 0) {
    parts.push(`files: ${Object.keys(response.files).join(', ')}`);
  }
  if (response.auditPending) parts.push('audit record pending');
  return `custody: ${parts.join(' · ')}`;
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
  let language: Language | undefined = values.language ? parseLanguage(values.language) : undefined;
  let code: string;
  if (values.code !== undefined) {
    code = values.code;
  } else if (file !== undefined && file !== '-') {
    language ??= languageOfFile(file);
    if (!language) {
      throw new UsageError(
        `--language: cannot infer the language of ${file} from its extension; pass --language`,
      );
    }
    code = readText(resolve(io.cwd, file), 'FILE');
  } else if (file === '-' || !io.stdin.isTTY) {
    code = await readAll(io.stdin);
  } else {
    throw new UsageError('custody run: no code: pass -c CODE, a FILE, or pipe the code on stdin');
  }
  if (!language)
    throw new UsageError('--language is required with -c or stdin (python, javascript, typescript)');
  if (code.trim() === '') throw new UsageError('custody run: the code is empty');

  let timeoutMs: number | undefined;
  if (values.timeoutMs !== undefined) {
    timeoutMs = Number(values.timeoutMs);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 100) {
      throw new UsageError(`--timeout-ms: "${values.timeoutMs}" must be an integer of at least 100`);
    }
  }
  const files = readInputs(values.input ?? [], io.cwd);

  const { client } = connect(io, values);
  const response = await client
    .execute({
      profile: values.profile,
      language,
      code,
      ...(values.purpose !== undefined ? { purpose: values.purpose } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(Object.keys(files).length > 0 ? { files } : {}),
    })
    .catch((error: unknown) => withProfiles(error, client));
  const saved =
    values.outputDir !== undefined
      ? saveOutputs(response.files ?? {}, resolve(io.cwd, values.outputDir))
      : [];
  if (values.json) {
    line(io.stdout, JSON.stringify(response, null, 2));
    return exitForStatus(response.status);
  }
  if (response.stdout !== '') io.stdout.write(response.stdout);
  if (response.result !== undefined) line(io.stdout, response.result);
  if (response.stderr !== '') io.stderr.write(response.stderr);
  if (response.error) {
    line(io.stderr, describeError(response.error));
  }
  line(io.stderr, summary(response));
  if (values.outputDir !== undefined) {
    line(
      io.stderr,
      `custody: ${saved.length} file${saved.length === 1 ? '' : 's'} saved in ${resolve(io.cwd, values.outputDir)}`,
    );
  }
  return exitForStatus(response.status);
}
