/**
 * Step 2 of an execution: the body of `POST /v1/executions`, validated at the edge. Errors name
 * the field that is wrong (`files["../x"]: ...`); unknown fields are refused, not ignored.
 * Limits that depend on the profile (code size, timeout, language) are checked by the decision.
 */
import { z } from 'zod';
import { ValidationError } from '../core/errors.ts';
import { fileMapSchema } from '../core/file-map.ts';
import { LANGUAGES } from '../core/types.ts';
import { formatIssuePath } from '../core/zod-issues.ts';

/** Largest body the broker parses at all; the executor payload limit (6 MB) is checked later. */
export const MAX_BODY_BYTES = 6 * 1024 * 1024;
export const MAX_FILES = 64;
export const MAX_PURPOSE_CHARS = 4096;

/** A relative path of safe segments: no `..`, no leading `/`, no backslashes. */
const FILE_NAME = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

export const executionRequestSchema = z.strictObject({
  profile: z.string().min(1, 'must not be empty').max(64),
  language: z.enum(LANGUAGES),
  code: z.string().min(1, 'must not be empty'),
  files: fileMapSchema(
    z.string().max(255).regex(FILE_NAME, 'must be a relative path of [A-Za-z0-9._-] segments without ..'),
  )
    .refine((files) => Object.keys(files).length <= MAX_FILES, `at most ${MAX_FILES} files`)
    .optional(),
  timeoutMs: z.number().int().min(100).max(300_000).optional(),
  purpose: z.string().max(MAX_PURPOSE_CHARS).optional(),
});

export type ExecutionRequest = z.infer<typeof executionRequestSchema>;

/** Parses and validates the JSON body; throws ValidationError naming the first bad field. */
export function parseExecutionRequest(body: string | null): ExecutionRequest {
  if (body === null || body.trim() === '') throw new ValidationError('body: a JSON object is required');
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch {
    throw new ValidationError('body: not valid JSON');
  }
  const parsed = executionRequestSchema.safeParse(document);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (!issue) throw new ValidationError('body: invalid request');
  if (issue.code === 'unrecognized_keys') {
    throw new ValidationError(`${issue.keys.map((k) => JSON.stringify(k)).join(', ')}: unknown field`);
  }
  const aboutName =
    issue.code === 'invalid_key' || (issue.code === 'custom' && issue.params?.fileName === true);
  const path = formatIssuePath(issue.path, { root: 'body', quoteKeys: true });
  const where = aboutName ? `${path} (file name)` : path;
  throw new ValidationError(`${where}: ${issue.message}`);
}
