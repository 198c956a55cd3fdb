/**
 * The code a command sends and what it prints back, shared by `custody run` and `custody session
 * run`: FILE, `-c CODE` or stdin; the language from `--language` or the file's extension;
 * `--input` files, `--timeout-ms`; then the run's output, error and files.
 */
import { resolve } from 'node:path';
import type { FileMap } from '../../lambda/core/file-map.ts';
import type { Language } from '../../lambda/core/types.ts';
import { describeError, type ExecutionResponse } from '../index.ts';
import type { ExitCode } from './exit-codes.ts';
import { exitForStatus } from './exit-codes.ts';
import { readInputs, saveOutputs } from './files.ts';
import { type CliIo, line, readAll, readText } from './io.ts';
import { languageOfFile, parseLanguage } from './language.ts';
import { UsageError } from './usage-error.ts';

/** The flags every code-running command takes. */
export interface CodeFlags {
  code?: string;
  language?: string;
  purpose?: string;
  input?: string[];
  timeoutMs?: string;
  outputDir?: string;
  json?: boolean;
}

/** The request fields the flags give (all but the profile or session). */
export interface CodeRequest {
  language: Language;
  code: string;
  purpose?: string;
  timeoutMs?: number;
  files?: FileMap;
}

/** Reads and checks the code and its options; `command` (`custody run`) prefixes the usage errors. */
export async function readCodeRequest(
  command: string,
  file: string | undefined,
  values: CodeFlags,
  io: CliIo,
): Promise<CodeRequest> {
  if (file !== undefined && values.code !== undefined) {
    throw new UsageError(`${command}: give the code either with -c or as FILE, not both`);
  }
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
    throw new UsageError(`${command}: no code: pass -c CODE, a FILE, or pipe the code on stdin`);
  }
  if (!language)
    throw new UsageError('--language is required with -c or stdin (python, javascript, typescript)');
  if (code.trim() === '') throw new UsageError(`${command}: the code is empty`);

  let timeoutMs: number | undefined;
  if (values.timeoutMs !== undefined) {
    timeoutMs = Number(values.timeoutMs);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 100) {
      throw new UsageError(`--timeout-ms: "${values.timeoutMs}" must be an integer of at least 100`);
    }
  }
  const files = readInputs(values.input ?? [], io.cwd);
  return {
    language,
    code,
    ...(values.purpose !== undefined ? { purpose: values.purpose } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(Object.keys(files).length > 0 ? { files } : {}),
  };
}

/**
 * Prints a run as `custody run` does: with `--json` the answer alone on stdout; else the code's
 * stdout and result on stdout, its stderr, error and `summary` lines on stderr. Saves the files it
 * wrote under `--output-dir`. Returns the exit code for the run's status.
 */
export function printRun(
  response: ExecutionResponse,
  values: CodeFlags,
  io: CliIo,
  summary: readonly string[],
): ExitCode {
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
  for (const text of summary) line(io.stderr, text);
  if (values.outputDir !== undefined) {
    line(
      io.stderr,
      `custody: ${saved.length} file${saved.length === 1 ? '' : 's'} saved in ${resolve(io.cwd, values.outputDir)}`,
    );
  }
  return exitForStatus(response.status);
}

/** The parts of a run's one-line summary every run has: status, time, execution, role session. */
export function summaryParts(response: ExecutionResponse): string[] {
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
  return parts;
}
