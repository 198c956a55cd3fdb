/**
 * The protocol between the parent and a Python host process, and what its answer means.
 *
 * The host writes one JSON message a line on stdout: `ready` once Pyodide is loaded, `o` for each
 * piece of output, one `result` at the end. Lines that are not valid messages are ignored (the code
 * can write to the pipe). `sandboxResultOf` turns what was collected into the SandboxResult, the
 * parent's own observations (why it killed the process, its exit, its timings) taking precedence
 * over anything the process reported.
 */
import { z } from 'zod';
import { type FileMap, type FileValue, fileMap, unsafeFileNameReason } from '../core/file-map.ts';
import { MAX_OUTPUT_FILES } from '../core/limits.ts';
import { MAX_STATE_FILES } from '../core/sandbox-state.ts';
import type { SandboxResult, UserCodeError } from '../core/types.ts';
import { CappedFiles, CappedText } from './capped-text.ts';

const outcomeSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), result: z.string().nullable() }),
  z.object({ ok: z.literal(false), name: z.string(), message: z.string(), traceback: z.string() }),
]);
/** A file between the parent and the host: its text, or `{ b64 }` for bytes that are not UTF-8. */
type HostFile = string | { readonly b64: string };

const hostFileSchema = z
  .union([z.string(), z.strictObject({ b64: z.string() })])
  .transform((value): FileValue => (typeof value === 'string' ? value : bytesOfBase64(value.b64)));

function bytesOfBase64(base64: string): Uint8Array {
  const buffer = Buffer.from(base64, 'base64');
  return new Uint8Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength));
}

/** The input files as the job carries them to the host (JSON: bytes as `{ b64 }`). */
export function hostInputFiles(files: Readonly<FileMap> | undefined): Record<string, HostFile> {
  return fileMap<HostFile>(
    Object.entries(files ?? {}).map(([name, value]) => [
      name,
      typeof value === 'string'
        ? value
        : { b64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') },
    ]),
  );
}

export const messageSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('ready') }),
  z.object({ t: z.literal('o'), s: z.union([z.literal(1), z.literal(2)]), d: z.string() }),
  z.object({
    t: z.literal('result'),
    outcome: outcomeSchema,
    outputExceeded: z.boolean(),
    memoryExhausted: z.boolean(),
    files: z.array(z.tuple([z.string(), hostFileSchema])).max(MAX_OUTPUT_FILES),
    filesTruncated: z.boolean(),
    /** A session's call (#15): the working folder's files (base64) and the Python state. */
    state: z
      .object({
        files: z.array(z.tuple([z.string(), z.string()])).max(MAX_STATE_FILES),
        python: z.string().nullable().optional(),
        dropped: z.array(z.string()).max(10_000),
      })
      .optional(),
  }),
]);
export type HostMessage = z.infer<typeof messageSchema>;
export type ResultMessage = Extract<HostMessage, { t: 'result' }>;

/** Why the parent killed a process, if it did. */
export type KillReason = 'deadline' | 'memory' | 'protocol' | 'closed';

/** What the parent gathered from one run. */
export interface CollectedRun {
  /** The process's `result` message, if it sent one. */
  readonly result: ResultMessage | undefined;
  readonly stdout: CappedText;
  readonly stderr: CappedText;
  readonly maxOutputBytes: number;
  readonly killedFor: KillReason | undefined;
  /** What the process wrote on stderr (Deno's own diagnostics). */
  readonly stderrText: string;
  readonly exit: { readonly code: number | null; readonly signal: NodeJS.Signals | null };
  readonly timings: { readonly startMs: number; readonly runMs: number };
}

/** The result of a run, from what the parent saw first and what the process reported second. */
export function sandboxResultOf(run: CollectedRun): SandboxResult {
  const { result, stdout, stderr, maxOutputBytes, killedFor, stderrText, exit, timings } = run;
  const files = new CappedFiles(maxOutputBytes, MAX_OUTPUT_FILES);
  for (const [name, content] of result?.files ?? []) {
    if (unsafeFileNameReason(name) === undefined) files.add(name, content);
  }
  const base = {
    stdout: stdout.toString(),
    stderr: stderr.toString(),
    stdoutTruncated: stdout.truncated || (result?.outputExceeded ?? false),
    stderrTruncated: stderr.truncated,
    files: files.toRecord(),
    filesTruncated: files.truncated || (result?.filesTruncated ?? false),
  };
  switch (killedFor) {
    case 'deadline':
      return { ...base, status: 'timed_out', timings };
    case 'memory':
      return { ...base, status: 'out_of_memory', timings };
    case 'protocol':
      return { ...base, stdoutTruncated: true, status: 'output_limit', timings };
    default:
      break;
  }
  if (!result) {
    if (/out of memory|heap limit/i.test(stderrText)) return { ...base, status: 'out_of_memory', timings };
    const error: UserCodeError = {
      name: 'SandboxProcessExit',
      message: `the Python process ended (code ${exit.code}, signal ${exit.signal}) before reporting a result`,
      traceback: '',
    };
    return { ...base, status: 'failed', error, timings };
  }
  const { outcome } = result;
  if (result.outputExceeded || stdout.truncated || stderr.truncated) {
    return { ...base, status: 'output_limit', timings };
  }
  if (!outcome.ok) {
    const error: UserCodeError = {
      name: outcome.name,
      message: outcome.message,
      traceback: outcome.traceback,
    };
    if (outcome.name === 'MemoryError' || result.memoryExhausted) {
      return { ...base, status: 'out_of_memory', error, timings };
    }
    return { ...base, status: 'failed', error, timings };
  }
  const capped = new CappedText(maxOutputBytes);
  if (outcome.result !== null) capped.append(outcome.result);
  return outcome.result === null
    ? { ...base, status: 'succeeded', timings }
    : { ...base, status: 'succeeded', result: capped.toString(), timings };
}
