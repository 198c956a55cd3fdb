/**
 * What an executor must answer: a SandboxResult, checked field by field before the broker trusts
 * it (the executor is a separate function; its answer is input like any other). Files come in
 * their wire form (`executor-payload.ts`) and are decoded here.
 */
import { z } from 'zod';
import { type FileValue, fileMapSchema, unsafeFileNameReason } from '../../core/file-map.ts';
import { wireFileValueSchema } from '../../core/file-wire.ts';
import { MAX_OUTPUT_BYTES_LIMIT } from '../../core/limits.ts';
import { sandboxStateSchema } from '../../core/sandbox-state.ts';
import type { SandboxResult } from '../../core/types.ts';
import { firstIssue } from '../../core/zod-issues.ts';

const userCodeError = z.object({ name: z.string(), message: z.string(), traceback: z.string() });

const base = {
  stdout: z.string(),
  stderr: z.string(),
  stdoutTruncated: z.boolean(),
  stderrTruncated: z.boolean(),
  files: fileMapSchema<FileValue>(z.string(), wireFileValueSchema(MAX_OUTPUT_BYTES_LIMIT)),
  filesTruncated: z.boolean(),
  timings: z.object({ startMs: z.number().nonnegative(), runMs: z.number().nonnegative() }),
  // A session's call (#15): the state for the next call, and what could not be carried.
  state: z
    .object({
      carried: sandboxStateSchema(z.string().refine((name) => unsafeFileNameReason(name) === undefined)),
      dropped: z.array(z.string()),
    })
    .optional(),
};

const sandboxResultSchema = z.discriminatedUnion('status', [
  z.object({ ...base, status: z.literal('succeeded'), result: z.string().optional() }),
  z.object({ ...base, status: z.literal('failed'), error: userCodeError }),
  z.object({
    ...base,
    status: z.enum(['timed_out', 'out_of_memory', 'output_limit']),
    error: userCodeError.optional(),
  }),
]);

export type ParsedSandboxResult =
  | { readonly ok: true; readonly result: SandboxResult }
  | { readonly ok: false; readonly problem: string };

/** Validates an executor's answer; the problem names the first bad field. */
export function parseSandboxResult(document: unknown): ParsedSandboxResult {
  const parsed = sandboxResultSchema.safeParse(document);
  if (parsed.success) return { ok: true, result: parsed.data as SandboxResult };
  return { ok: false, problem: firstIssue(parsed.error, { root: '(root)' }) };
}
