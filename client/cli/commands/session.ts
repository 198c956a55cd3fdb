/**
 * `custody session start|run|show|list|end`: state across calls. `start` prints the session id
 * alone on stdout (`id=$(custody session start --profile sandbox)`); `run` takes `custody run`'s
 * options and prints the same way, adding the call's sequence and what was not carried over.
 */
import { Command } from 'commander';
import { sessionStartRequestSchema } from '../../../lambda/core/api-schema.ts';
import { SESSION_ID } from '../../../lambda/core/session.ts';
import type { SessionExecutionResponse, SessionSummary } from '../../index.ts';
import { type CodeFlags, printRun, readCodeRequest, summaryParts } from '../code-input.ts';
import { type CommandContext, collect, endpointOptions } from '../command-context.ts';
import { connect, type EndpointFlags } from '../endpoint.ts';
import { EXIT } from '../exit-codes.ts';
import { line } from '../io.ts';
import { printable } from '../terminal-text.ts';
import { UsageError } from '../usage-error.ts';

export const SESSION_SYNOPSIS = `custody session start --profile NAME [--ttl SECONDS|Nm|Nh] [--purpose TEXT] [--json]
  custody session run SESSION_ID [FILE] [-c CODE] [--language LANG] [custody run's options]
  custody session show SESSION_ID [--json] | list [--json] | end SESSION_ID [--json]`;

const TTL = sessionStartRequestSchema.shape.ttlSeconds.unwrap();
const UNIT_SECONDS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600 };

/** `--ttl`: seconds (`900`, `900s`) or minutes and hours (`15m`, `2h`), within the API's bounds. */
export function parseTtl(value: string): number {
  const match = /^(\d+)([smh]?)$/.exec(value.trim());
  const seconds = match ? Number(match[1]) * (UNIT_SECONDS[match[2] ?? ''] ?? 1) : Number.NaN;
  if (!TTL.safeParse(seconds).success) {
    throw new UsageError(
      `--ttl: "${value}" must be a whole number of seconds (or 15m, 2h) from ${TTL.minValue} to ${TTL.maxValue}`,
    );
  }
  return seconds;
}

/** The one SESSION_ID a subcommand takes, checked before anything is sent. */
function sessionId(command: string, ids: readonly string[]): string {
  const [id, ...extra] = ids;
  if (id === undefined || extra.length > 0) {
    throw new UsageError(`${command}: expects exactly one SESSION_ID (see custody session list)`);
  }
  if (!SESSION_ID.test(id)) {
    throw new UsageError(
      `${command}: "${printable(id)}" is not a session id (ses_ and 26 letters and digits, as custody session start printed it)`,
    );
  }
  return id;
}

type JsonFlags = EndpointFlags & { json?: boolean };

function startCommand(ctx: CommandContext): Command {
  const command = new Command('start')
    .description('start a session: state (variables, functions, files) is kept from call to call')
    .option('-p, --profile <name>', 'the execution profile (see custody profiles)')
    .option(
      '--ttl <seconds>',
      "how long it lasts: seconds, or 15m, 2h (at most the profile's maxSessionSeconds)",
    )
    .option('--purpose <text>', 'why, for the audit record')
    .option('--json', 'print the API response as JSON');
  return endpointOptions(command).action(
    async (values: JsonFlags & { profile?: string; ttl?: string; purpose?: string }) => {
      const { io } = ctx;
      if (!values.profile)
        throw new UsageError('custody session start: --profile is required (see custody profiles)');
      const ttlSeconds = values.ttl !== undefined ? parseTtl(values.ttl) : undefined;
      const { client } = connect(io, values);
      const session = await client.startSession({
        profile: values.profile,
        ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
        ...(values.purpose !== undefined ? { purpose: values.purpose } : {}),
      });
      ctx.exitCode = EXIT.succeeded;
      if (values.json) {
        line(io.stdout, JSON.stringify(session, null, 2));
        return;
      }
      line(io.stdout, printable(session.sessionId));
      const secrets =
        session.secretVariables.length > 0
          ? ` · secrets: ${session.secretVariables.map(printable).join(', ')}`
          : '';
      line(
        io.stderr,
        `custody: session started · profile ${printable(session.profile)} · expires ${printable(session.expiresAt)}${secrets}`,
      );
    },
  );
}

/** The summary lines of a call in a session: a run's, then the session's sequence and state. */
function sessionSummary(response: SessionExecutionResponse): string[] {
  const parts = [
    ...summaryParts(response),
    `session ${printable(response.sessionId)} call ${response.sequence}`,
    ...(response.state ? [`state ${response.state.bytes} bytes`] : []),
  ];
  const out = [`custody: ${parts.join(' · ')}`];
  const dropped = response.state?.dropped ?? [];
  if (dropped.length > 0) {
    out.push(
      `custody: not carried to the next call (could not be kept): ${dropped.map(printable).join(', ')}`,
    );
  }
  return out;
}

function runInCommand(ctx: CommandContext): Command {
  const command = new Command('run')
    .description('run code in a session, with the state its earlier calls left; exits with its status')
    .usage('SESSION_ID [FILE] [-c CODE] [--language LANG] [options]')
    .argument('[SESSION_ID]', 'the session (see custody session list)')
    .argument('[FILE]', 'the code; its extension names the language; - or a pipe: stdin')
    .option('-c, --code <code>', 'the code itself, instead of FILE')
    .option('-l, --language <lang>', 'python, javascript or typescript (py, js, ts)')
    .option('--purpose <text>', 'why, for the audit record')
    .option('--input <spec>', 'an input file, NAME=PATH or PATH (named after the file); repeatable', collect)
    .option('--timeout-ms <n>', "the time limit, at most the profile's")
    .option('--output-dir <dir>', 'save the files the run wrote in DIR')
    .option('--json', 'print the API response as JSON');
  return endpointOptions(command).action(
    async (_id: unknown, _file: unknown, values: CodeFlags & EndpointFlags) => {
      const { io } = ctx;
      const [id, file] = command.args;
      const session = sessionId('custody session run', id === undefined ? [] : [id]);
      const request = await readCodeRequest('custody session run', file, values, io);
      const { client } = connect(io, values);
      const response = await client.runInSession(session, request);
      ctx.exitCode = printRun(response, values, io, sessionSummary(response));
    },
  );
}

function describeSession(s: SessionSummary): string[] {
  const ended = s.endedAt
    ? [`ended       ${printable(s.endedAt)}${s.endReason ? ` (${s.endReason})` : ''}`]
    : [];
  return [
    `session     ${printable(s.sessionId)}`,
    `profile     ${printable(s.profile)}`,
    `status      ${printable(s.status)}`,
    `created     ${printable(s.createdAt)}`,
    `expires     ${printable(s.expiresAt)}`,
    `executions  ${s.executions}`,
    `state       ${s.stateBytes} bytes`,
    ...ended,
  ];
}

function showCommand(ctx: CommandContext): Command {
  const command = new Command('show')
    .description("print a session's status, calls and state size")
    .argument('[SESSION_ID...]', 'the session')
    .option('--json', 'print it as JSON');
  return endpointOptions(command).action(async (ids: string[], values: JsonFlags) => {
    const { io } = ctx;
    const id = sessionId('custody session show', ids);
    const { client } = connect(io, values);
    const session = await client.getSession(id);
    ctx.exitCode = EXIT.succeeded;
    if (values.json) line(io.stdout, JSON.stringify(session, null, 2));
    else for (const text of describeSession(session)) line(io.stdout, text);
  });
}

function listCommand(ctx: CommandContext): Command {
  const command = new Command('list')
    .description('list your sessions')
    .option('--json', 'print them as JSON');
  return endpointOptions(command).action(async (values: JsonFlags) => {
    const { io } = ctx;
    const { client } = connect(io, values);
    const sessions = await client.listSessions();
    ctx.exitCode = EXIT.succeeded;
    if (values.json) {
      line(io.stdout, JSON.stringify({ sessions }, null, 2));
      return;
    }
    if (sessions.length === 0) {
      line(io.stdout, 'No sessions.');
      return;
    }
    for (const s of sessions) {
      line(
        io.stdout,
        `${printable(s.sessionId)}  ${printable(s.status).padEnd(7)}  ${printable(s.profile).padEnd(16)}  ${String(s.executions).padStart(4)} calls  expires ${printable(s.expiresAt)}`,
      );
    }
  });
}

function endCommand(ctx: CommandContext): Command {
  const command = new Command('end')
    .description('end a session now: its state and secrets are destroyed')
    .argument('[SESSION_ID...]', 'the session')
    .option('--json', 'print the API response as JSON');
  return endpointOptions(command).action(async (ids: string[], values: JsonFlags) => {
    const { io } = ctx;
    const id = sessionId('custody session end', ids);
    const { client } = connect(io, values);
    const out = await client.endSession(id);
    ctx.exitCode = EXIT.succeeded;
    if (values.json) line(io.stdout, JSON.stringify(out, null, 2));
    else line(io.stdout, `session ${printable(out.sessionId)} ${printable(out.status)}`);
  });
}

export function sessionCommand(ctx: CommandContext): Command {
  const session = new Command('session')
    .description('keep state across calls: start a session, run code in it, show, list and end it')
    .addCommand(startCommand(ctx))
    .addCommand(runInCommand(ctx))
    .addCommand(showCommand(ctx))
    .addCommand(listCommand(ctx))
    .addCommand(endCommand(ctx))
    .helpCommand(true);
  // Without a subcommand: its usage, on stdout (unknown ones are refused by program.ts).
  return session.action(() => {
    session.outputHelp();
    ctx.exitCode = EXIT.succeeded;
  });
}
