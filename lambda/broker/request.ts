/**
 * Step 2 of an execution: the body of `POST /v1/executions` (its schema is
 * `lambda/core/api-schema.ts`), validated at the edge. Errors name the field that is wrong
 * (`files["../x"]: ...`); unknown fields are refused, not ignored.
 */

import type { z } from 'zod';
import { type ExecutionRequest, executionRequestSchema } from '../core/api-schema.ts';
import { ValidationError } from '../core/errors.ts';
import { formatIssuePath } from '../core/zod-issues.ts';

// The pipeline's steps take these from here, with the parser.
export { type ExecutionRequest, MAX_BODY_BYTES } from '../core/api-schema.ts';

/** Parses and validates the JSON body; throws ValidationError naming the first bad field. */
export function parseExecutionRequest(body: string | null): ExecutionRequest {
  return parseBody(executionRequestSchema, body);
}

/** Parses a JSON body against a schema of `api-schema.ts`; throws ValidationError naming the first bad field. */
export function parseBody<T extends z.ZodType>(schema: T, body: string | null): z.output<T> {
  if (body === null || body.trim() === '') throw new ValidationError('body: a JSON object is required');
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch {
    throw new ValidationError('body: not valid JSON');
  }
  const parsed = schema.safeParse(document);
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
