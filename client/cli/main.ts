/**
 * The `custody` command line: run code, list profiles, show an execution's record, read and verify
 * the audit trail, and serve the MCP tool. See `docs/local.md` for the reference and exit codes.
 *
 * `main` takes its arguments, streams and environment as parameters and returns the exit code,
 * so `bin/cli.ts` stays a two-line adapter and tests can drive it in-process.
 */
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { fromIni } from '@aws-sdk/credential-providers';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import { fileMap } from '../../lambda/core/file-map.ts';
import { readLocalStack } from '../../lambda/core/local-stack.ts';
import { LANGUAGES, type Language } from '../../lambda/core/types.ts';
import {
  CustodyApiError,
  CustodyClient,
  type CustodyClientOptions,
  CustodyConfigError,
  CustodyCredentialsError,
  CustodyNetworkError,
  describeError,
  type ExecutionResponse,
} from '../index.ts';
import { printable, printableLines } from './terminal-text.ts';

/** Exit codes: the execution's status, or why nothing ran. Documented in docs/local.md. */
export const EXIT = {
  succeeded: 0,
  failed: 1,
  usage: 2,
  timed_out: 3,
  out_of_memory: 4,
  output_limit: 5,
  denied: 6,
  rejected: 7,
  unavailable: 8,
  config: 9,
  /** `audit verify`: no tampering, but a started execution has no outcome after its deadline. */
  incomplete: 10,
} as const;

export interface CliIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly stdin: Readable & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/** A mistake on the command line: the message names the flag or argument. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const USAGE = `custody — run code under an IAM-bound execution profile

Usage:
  custody run [FILE] [-c CODE] --profile NAME [--language LANG] [--purpose TEXT]
              [--input NAME=PATH]... [--timeout-ms N] [--json]
  custody profiles [--json]
  custody show EXECUTION_ID [--json]
  custody audit tail [-n N] [--follow] [--json] [--table NAME]
  custody audit verify [--recent N] [--json] [--record] [--no-digest]
  custody audit verify --stack NAME | --table NAME --key-id KEY [--log-group NAME]
                       [--region R] [--recent N] [--json] [--record]
  custody audit report [--since-hours N] [--recent N] [--html FILE] [--json] [--no-verify]
  custody audit reconcile [--json] [--stack NAME | --table NAME --log-group NAME] [--since-hours N]
  custody revoke --profile NAME | --principal ID [--reason TEXT] [--stack NAME]
  custody reinstate --profile NAME | --principal ID [--stack NAME]
  custody mcp

Options for every command that calls the API:
  --endpoint URL   the API (default: CUSTODY_ENDPOINT, else the local server in .custody/local.json)
  --region NAME    the region to sign for (default: from the endpoint, CUSTODY_REGION, AWS_REGION)

Credentials: the AWS default chain (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE, env, SSO, roles).
Local mode: AWS_SHARED_CREDENTIALS_FILE=.custody/credentials AWS_PROFILE=agent custody run ...

Exit codes: 0 succeeded, 1 code failed, 2 usage, 3 timed out, 4 out of memory, 5 output limit,
            6 denied, 7 request rejected (400/404/413/429), 8 service unavailable, 9 no credentials/endpoint,
            10 audit incomplete (a started execution has no outcome after its deadline).
`;

const COMMON_OPTIONS = {
  endpoint: { type: 'string' },
  region: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parse<T extends Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>>(
  command: string,
  args: string[],
  options: T,
  allowPositionals: boolean,
) {
  try {
    return parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, allowPositionals, strict: true });
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '.');
    throw new UsageError(`custody ${command}: ${message} (see custody --help)`);
  }
}

const EXTENSIONS: Record<string, Language> = {
  '.py': 'python',
  '.js': 'javascript',
  '.mjs': 'javascript',
  '.cjs': 'javascript',
  '.ts': 'typescript',
  '.mts': 'typescript',
  '.cts': 'typescript',
};

/** The language a file's extension names, if any. */
export function languageOfFile(file: string): Language | undefined {
  return EXTENSIONS[extname(file).toLowerCase()];
}

function parseLanguage(value: string): Language {
  const normal = value.toLowerCase();
  const alias: Record<string, Language> = { py: 'python', js: 'javascript', ts: 'typescript' };
  const language = (LANGUAGES as readonly string[]).includes(normal) ? (normal as Language) : alias[normal];
  if (!language) throw new UsageError(`--language: "${value}" is not one of ${LANGUAGES.join(', ')}`);
  return language;
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`${what}: cannot read ${path}${code ? ` (${code})` : ''}`);
  }
}

/** What `.custody/local.json` says about a running local server. */
interface LocalStack {
  readonly apiEndpoint: string;
  readonly region: string;
  readonly credentialsFile: string;
  readonly dynamodbEndpoint: string;
  readonly auditTableName: string;
  readonly auditLog: string;
  readonly auditPublicKey?: string;
  /** The policy file the server runs (older local.json files lack it). */
  readonly policyFile?: string;
  readonly home: string;
}

function localStack(io: CliIo): LocalStack | undefined {
  const home = resolve(io.cwd, io.env.CUSTODY_HOME || '.custody');
  const info = readLocalStack(home);
  if (!info) return undefined;
  return { ...(info as LocalStack), home };
}

interface Target {
  readonly client: CustodyClient;
  readonly local?: LocalStack;
}

/**
 * Builds the client. Endpoint: --endpoint, CUSTODY_ENDPOINT, else the local server's local.json;
 * in the last case the region is the local server's and, unless AWS_SHARED_CREDENTIALS_FILE says
 * otherwise, the credentials are the local identities (profile AWS_PROFILE, default `agent`).
 */
function connect(io: CliIo, flags: { endpoint?: string; region?: string }): Target {
  const explicit = flags.endpoint ?? (io.env.CUSTODY_ENDPOINT?.trim() || undefined);
  if (explicit !== undefined) {
    const options: CustodyClientOptions = {
      endpoint: explicit,
      env: io.env,
      ...(flags.region ? { region: flags.region } : {}),
    };
    return { client: new CustodyClient(options) };
  }
  const local = localStack(io);
  if (!local) {
    throw new CustodyConfigError(
      'no custody endpoint: pass --endpoint, set CUSTODY_ENDPOINT, or start local mode with `npm start` (which writes .custody/local.json)',
    );
  }
  const credentials = io.env.AWS_SHARED_CREDENTIALS_FILE
    ? undefined
    : fromIni({ filepath: local.credentialsFile, profile: io.env.AWS_PROFILE || 'agent' });
  const options: CustodyClientOptions = {
    endpoint: local.apiEndpoint,
    region: flags.region ?? local.region,
    env: io.env,
    ...(credentials ? { credentials } : {}),
  };
  return { client: new CustodyClient(options), local };
}

/** Writes one line (or block): control characters escaped on the way out, `\n` and `\t` kept. */
function line(stream: Writable, text: string): void {
  const safe = printableLines(text);
  stream.write(safe.endsWith('\n') ? safe : `${safe}\n`);
}

function exitForStatus(status: ExecutionResponse['status'] | 'error'): number {
  if (status === 'error') return EXIT.unavailable;
  return EXIT[status];
}

function exitForApiError(error: CustodyApiError): number {
  if (error.status === 403) return EXIT.denied;
  if (error.status >= 500) return EXIT.unavailable;
  return EXIT.rejected;
}

/** One-line summary of an execution, for people. */
export function summary(response: ExecutionResponse): string {
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

async function runCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(
    'run',
    args,
    {
      code: { type: 'string', short: 'c' },
      profile: { type: 'string', short: 'p' },
      language: { type: 'string', short: 'l' },
      purpose: { type: 'string' },
      input: { type: 'string', multiple: true },
      'timeout-ms': { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  if (values.help) return help(io);
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
  if (values['timeout-ms'] !== undefined) {
    timeoutMs = Number(values['timeout-ms']);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 100) {
      throw new UsageError(`--timeout-ms: "${values['timeout-ms']}" must be an integer of at least 100`);
    }
  }
  // No prototype: an input may be named `constructor` or `__proto__` like any other file.
  const files = fileMap();
  for (const spec of values.input ?? []) {
    const eq = spec.indexOf('=');
    if (eq <= 0 || eq === spec.length - 1) throw new UsageError(`--input: "${spec}" must be NAME=PATH`);
    files[spec.slice(0, eq)] = readText(resolve(io.cwd, spec.slice(eq + 1)), `--input ${spec.slice(0, eq)}`);
  }

  const { client } = connect(io, values);
  const response = await client.execute({
    profile: values.profile,
    language,
    code,
    ...(values.purpose !== undefined ? { purpose: values.purpose } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(Object.keys(files).length > 0 ? { files } : {}),
  });
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
  return exitForStatus(response.status);
}

async function profilesCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parse('profiles', args, { json: { type: 'boolean' } }, false);
  if (values.help) return help(io);
  const { client } = connect(io, values);
  const profiles = await client.listProfiles();
  if (values.json) {
    line(io.stdout, JSON.stringify({ profiles }, null, 2));
    return EXIT.succeeded;
  }
  if (profiles.length === 0) {
    line(io.stdout, 'No profiles: the policy grants this identity none (now).');
    return EXIT.succeeded;
  }
  for (const p of profiles) {
    const secrets = p.secretVariables.length > 0 ? `  secrets: ${p.secretVariables.join(', ')}` : '';
    line(
      io.stdout,
      `${p.name.padEnd(16)} ${p.languages.join(',').padEnd(29)} timeout ${p.limits.timeoutMs} ms, ${p.limits.memoryMiB} MiB${secrets}`,
    );
    if (p.description) line(io.stdout, `${''.padEnd(17)}${p.description}`);
  }
  return EXIT.succeeded;
}

/** One audit record on one line, every field made printable (the caller wrote most of them). */
function describeRecord(r: AuditRecord): string {
  return printable(describeRecordRaw(r));
}

function describeRecordRaw(r: AuditRecord): string {
  const who = r.caller.principalId ?? r.caller.arn;
  if (r.revocation) {
    const { scope, target, reason } = r.revocation;
    return `${r.timestamp}  ${r.event.padEnd(9)} ${r.executionId}  ${who}  ${scope} ${target}  ${r.decision.reason}${reason ? ` (${reason})` : ''}`;
  }
  const what = [r.request.profile, r.request.language].filter(Boolean).join('/') || '-';
  const outcome =
    r.event === 'completed'
      ? (r.outcome?.status ?? '-')
      : r.event === 'denied'
        ? `denied ${r.decision.reason}`
        : 'allowed';
  const role = r.role ? ` session ${r.role.sessionName}` : '';
  return `${r.timestamp}  ${r.event.padEnd(9)} ${r.executionId}  ${who}  ${what}  ${outcome}${role}`;
}

async function showCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse('show', args, { json: { type: 'boolean' } }, true);
  if (values.help) return help(io);
  const [executionId, ...extra] = positionals;
  if (!executionId || extra.length > 0)
    throw new UsageError('custody show: expects exactly one EXECUTION_ID');
  const { client } = connect(io, values);
  const out = await client.getExecution(executionId);
  if (values.json) {
    line(io.stdout, JSON.stringify(out, null, 2));
    return EXIT.succeeded;
  }
  for (const record of out.records) {
    line(io.stdout, describeRecord(record));
    if (record.request.codeSha256) line(io.stdout, `  code sha256   ${record.request.codeSha256}`);
    if (record.outcome?.outputSha256) line(io.stdout, `  output sha256 ${record.outcome.outputSha256}`);
    if (record.request.purpose) line(io.stdout, `  purpose       ${printable(record.request.purpose)}`);
    if (record.decision.message) line(io.stdout, `  decision      ${printable(record.decision.message)}`);
  }
  return EXIT.succeeded;
}

async function auditCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'tail') {
    const { auditTail } = await import('./audit.ts');
    return auditTail(rest, io);
  }
  if (sub === 'verify') {
    const { auditVerify } = await import('./audit.ts');
    return auditVerify(rest, io);
  }
  if (sub === 'report') {
    const { auditReport } = await import('./audit-report.ts');
    return auditReport(rest, io);
  }
  if (sub === 'reconcile') {
    const { auditReconcile } = await import('./audit-reconcile.ts');
    return auditReconcile(rest, io);
  }
  if (sub === undefined || sub === '--help' || sub === '-h') return help(io);
  throw new UsageError(`custody audit: unknown subcommand "${sub}" (tail, verify, report, reconcile)`);
}

function help(io: CliIo): number {
  io.stdout.write(USAGE);
  return EXIT.succeeded;
}

/** Parses flags for `audit` subcommands (shared with client/cli/audit.ts). */
export { connect, describeRecord, line, localStack, parse as parseCommandArgs };

/** Runs one CLI invocation; returns the exit code. Never throws. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'run':
        return await runCommand(args, io);
      case 'profiles':
        return await profilesCommand(args, io);
      case 'show':
        return await showCommand(args, io);
      case 'audit':
        return await auditCommand(args, io);
      case 'revoke':
      case 'reinstate': {
        const { killSwitchCommand } = await import('./revoke.ts');
        return await killSwitchCommand(command, args, io);
      }
      case 'mcp': {
        const { serveMcp } = await import('../mcp/server.ts');
        parse('mcp', args, {}, false);
        await serveMcp(connect(io, {}).client);
        return EXIT.succeeded;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        return help(io);
      default:
        throw new UsageError(
          `custody: unknown command "${command}" (run, profiles, show, audit, revoke, reinstate, mcp)`,
        );
    }
  } catch (error) {
    return reportError(error, io);
  }
}

function reportError(error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    line(io.stderr, error.message);
    return EXIT.usage;
  }
  if (error instanceof CustodyApiError) {
    const id = error.executionId ? ` (execution ${error.executionId})` : '';
    const verb = error.status === 403 ? 'denied' : error.status >= 500 ? 'unavailable' : 'rejected';
    line(io.stderr, `custody: ${verb}, ${error.code}: ${error.message}${id}`);
    return exitForApiError(error);
  }
  if (error instanceof CustodyConfigError || error instanceof CustodyCredentialsError) {
    line(io.stderr, `custody: ${error.message}`);
    return EXIT.config;
  }
  if (error instanceof CustodyNetworkError) {
    line(io.stderr, `custody: ${error.message}`);
    return EXIT.unavailable;
  }
  line(io.stderr, `custody: ${(error as Error).message ?? String(error)}`);
  return EXIT.unavailable;
}
