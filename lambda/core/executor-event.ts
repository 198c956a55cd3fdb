/**
 * The executor Lambda's event: one SandboxRequest, as the broker sends it (`executor-payload.ts`:
 * files as text, `{ base64 }` or `{ gzip }`). Validated here, at the edge, so a malformed event is
 * refused with the field that is wrong and nothing runs.
 */
import { z } from 'zod';
import { type FileValue, fileMapSchema, unsafeFileNameReason } from './file-map.ts';
import { wireFileValueSchema } from './file-wire.ts';
import {
  MAX_CODE_BYTES,
  MAX_INPUT_BYTES_LIMIT,
  MAX_MEMORY_MIB,
  MAX_OUTPUT_BYTES_LIMIT,
  MAX_TIMEOUT_MS,
} from './limits.ts';
import { MAX_STATE_BYTES_LIMIT, maxStateBytesOf, sandboxStateSchema, stateBytes } from './sandbox-state.ts';
import { LANGUAGES, type SandboxRequest } from './types.ts';
import { allIssues } from './zod-issues.ts';

const fileName = z.string().superRefine((name, ctx) => {
  const reason = unsafeFileNameReason(name);
  if (reason) ctx.addIssue({ code: 'custom', message: `file name ${JSON.stringify(name)} ${reason}` });
});

/**
 * A call of a session (#15): the state it starts from, bounded here (file names safe, contents
 * base64, at most `maxStateBytes` in all) so a state too large to restore is refused by name.
 */
const sessionSchema = z
  .object({
    state: sandboxStateSchema(fileName).optional(),
    maxStateBytes: z.number().int().positive().max(MAX_STATE_BYTES_LIMIT).optional(),
  })
  .strict()
  .superRefine((session, ctx) => {
    if (session.state === undefined) return;
    const bytes = stateBytes(session.state);
    const max = maxStateBytesOf(session);
    if (bytes > max) {
      ctx.addIssue({
        code: 'custom',
        path: ['state'],
        message: `is ${bytes} bytes, more than the ${max} allowed`,
      });
    }
  });

const sandboxRequestSchema = z
  .object({
    executionId: z.string().min(1).max(128),
    language: z.enum(LANGUAGES),
    code: z
      .string()
      .refine(
        (code) => Buffer.byteLength(code, 'utf8') <= MAX_CODE_BYTES,
        `must be at most ${MAX_CODE_BYTES} bytes`,
      ),
    limits: z
      .object({
        timeoutMs: z.number().int().positive().max(MAX_TIMEOUT_MS),
        memoryMiB: z.number().int().min(8).max(MAX_MEMORY_MIB),
        maxOutputBytes: z.number().int().positive().max(MAX_OUTPUT_BYTES_LIMIT),
      })
      .strict(),
    files: fileMapSchema<FileValue>(fileName, wireFileValueSchema(MAX_INPUT_BYTES_LIMIT)).optional(),
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a variable name'), z.string())
      .optional(),
    session: sessionSchema.optional(),
    // #16 datasets: name -> key -> base64 bytes (the broker bounded them; names checked again here).
    datasets: z
      .record(
        z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'must be a dataset name'),
        fileMapSchema(fileName, z.base64()),
      )
      .optional(),
  })
  .strict();

export type SandboxEventParse = { ok: true; request: SandboxRequest } | { ok: false; message: string };

/** Parses an event; the failure message names each wrong field (never echoes code or values). */
export function parseSandboxEvent(event: unknown): SandboxEventParse {
  const parsed = sandboxRequestSchema.safeParse(event);
  if (parsed.success) return { ok: true, request: parsed.data };
  const problems = allIssues(parsed.error, { root: '(event)' });
  return { ok: false, message: `invalid executor event: ${problems.join('; ')}` };
}
