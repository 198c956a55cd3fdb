/**
 * The HTTP API's bodies, stated once: the execution request the broker validates, the answers it
 * gives (an execution, the profiles, an error). Everything else is a projection of these schemas:
 * API Gateway's request model (`lib/api.ts`, through `z.toJSONSchema`), the MCP tools' input and
 * output schemas (`client/mcp/server.ts`) and the SDK's types (`client/index.ts`).
 */
import { z } from 'zod';
import { type DatasetSelection, datasetSelectionSchema } from './datasets.ts';
import { type FileMap, type FileValue, fileMapSchema } from './file-map.ts';
import { answerFileValueSchema, INPUT_FILE_VALUE_JSON_SCHEMA, inputFileValueSchema } from './file-wire.ts';
import { LANGUAGES, SANDBOX_STATUSES } from './types.ts';

/** Largest body the broker parses at all; the executor payload limit (6 MB) is checked later. */
export const MAX_BODY_BYTES = 6 * 1024 * 1024;
export const MAX_FILES = 64;
export const MAX_PURPOSE_CHARS = 4096;

/** A relative path of safe segments: no `..`, no leading `/`, no backslashes. */
const FILE_NAME = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

/** A file as a caller sends it: UTF-8 text, or any bytes as `{ "base64": "…" }` (#16). */
export type InputFileValue = string | { readonly base64: string };

/**
 * Input files, parsed into a prototype-free map (`fileMapSchema`) of text or bytes. Typed as what
 * a caller sends (the parser itself takes anything and names what is wrong), and described to
 * JSON Schema by hand: zod cannot see through the parse.
 */
const inputFilesSchema = (
  fileMapSchema<FileValue>(
    z.string().max(255).regex(FILE_NAME, 'must be a relative path of [A-Za-z0-9._-] segments without ..'),
    inputFileValueSchema as unknown as z.ZodType<FileValue, unknown>,
  ) as unknown as z.ZodType<FileMap, Readonly<Record<string, InputFileValue>>>
)
  .refine((files) => Object.keys(files).length <= MAX_FILES, `at most ${MAX_FILES} files`)
  .meta({ type: 'object', maxProperties: MAX_FILES, additionalProperties: INPUT_FILE_VALUE_JSON_SCHEMA });

/**
 * #16 datasets: name -> keys, checked by `datasetSelectionSchema`; described to JSON Schema by hand
 * in the keywords an API Gateway model takes (the broker checks the rest).
 */
const requestDatasetsSchema = (
  z.unknown().pipe(datasetSelectionSchema) as unknown as z.ZodType<
    DatasetSelection,
    Readonly<Record<string, readonly string[]>>
  >
).meta({ type: 'object', maxProperties: 16 });

/**
 * The body of `POST /v1/executions`. Unknown fields are refused, not ignored. Limits that depend
 * on the profile (code size, timeout, language) are checked by the decision.
 */
export const executionRequestSchema = z.strictObject({
  profile: z
    .string()
    .min(1, 'must not be empty')
    .max(64)
    .describe('Execution profile name (see list_profiles)'),
  language: z.enum(LANGUAGES).describe('Language of the code'),
  code: z.string().min(1, 'must not be empty').describe('The program to run'),
  files: inputFilesSchema
    .optional()
    .describe(
      'Input files, read-only to the code: relative name -> UTF-8 text, or { "base64": "…" } for any bytes',
    ),
  datasets: requestDatasetsSchema
    .optional()
    .describe(
      'Read-only datasets of the profile: name -> keys relative to its prefix (a trailing / reads a sub-prefix); the code sees them at /data/<name>/<key>',
    ),
  timeoutMs: z
    .number()
    .int()
    .min(100)
    .max(300_000)
    .optional()
    .describe("Deadline in milliseconds (at most the profile's)"),
  purpose: z
    .string()
    .max(MAX_PURPOSE_CHARS)
    .optional()
    .describe('The task or prompt that produced this code (kept in the audit record)'),
});

/** A request as the broker has parsed it. */
export type ExecutionRequest = z.output<typeof executionRequestSchema>;
/** A request as a caller writes it (the SDK's `execute` input). */
export type ExecutionRequestInput = z.input<typeof executionRequestSchema>;

/** An exception the user's code raised: data, not a failure of custody. */
const userCodeErrorSchema = z.object({ name: z.string(), message: z.string(), traceback: z.string() });

/**
 * The body of a 200 from `POST /v1/executions`. Answers are described, not parsed into maps, so
 * `files` may be a plain record here (nothing builds an object from it).
 */
export const executionResponseSchema = z.object({
  executionId: z.string().describe('The key of the audit record of this execution'),
  status: z.enum(SANDBOX_STATUSES),
  stdout: z.string(),
  stderr: z.string(),
  result: z.string().optional().describe('The value of the last expression, if the code ended with one'),
  error: userCodeErrorSchema.optional(),
  files: z
    .record(z.string(), answerFileValueSchema)
    .optional()
    .describe(
      'Files the code wrote: name -> UTF-8 text, or { base64, mediaType, bytes } when the bytes are not UTF-8',
    ),
  truncated: z.boolean(),
  durationMs: z.number().describe('How long the code ran in the sandbox'),
  codeSha256: z.string(),
  outputSha256: z.string(),
  role: z
    .object({ arn: z.string(), sessionName: z.string() })
    .describe('The role session the code ran under'),
  auditPending: z.literal(true).optional().describe('The audit record is still being written'),
  artifacts: z
    .array(z.object({ path: z.string(), key: z.string(), bytes: z.number(), sha256: z.string() }))
    .optional()
    .describe(
      "Output files also stored in the profile's outputs bucket: outputs prefix/<executionId>/<path>",
    ),
});

export type ExecutionResponse = z.infer<typeof executionResponseSchema>;

/** One entry of `GET /v1/profiles`: a profile the caller may use now. */
const profileSummarySchema = z.object({
  name: z.string(),
  description: z.string(),
  languages: z.array(z.enum(LANGUAGES)),
  limits: z.object({
    timeoutMs: z.number(),
    memoryMiB: z.number(),
    maxCodeBytes: z.number(),
    maxOutputBytes: z.number(),
  }),
  /** Names (never values) of the variables the profile injects. */
  secretVariables: z.array(z.string()),
  approvedCode: z.string().optional(),
  auditCode: z.string().optional(),
  /** What the code may import beyond the standard library: bundled at deploy, never fetched (#17). */
  packages: z.object({
    /** Pyodide packages (as the policy names them; their dependencies load with them). */
    python: z.array(z.string()),
    /** npm packages bundled for QuickJS. */
    javascript: z.array(z.string()),
  }),
});

export type ProfileSummary = z.infer<typeof profileSummarySchema>;

/** The body of a 200 from `GET /v1/profiles`. */
export const profilesResponseSchema = z.object({ profiles: z.array(profileSummarySchema) });

export type ProfilesResponse = z.infer<typeof profilesResponseSchema>;

/** The body of every refusal and failure the broker answers (4xx, 5xx). */
export const errorBodySchema = z.object({
  error: z.object({
    /** The reason code (`NO_GRANT`, `INVALID_REQUEST`, ...). */
    code: z.string(),
    message: z.string(),
    /** The execution the refusal was recorded under, if one was. */
    executionId: z.string().optional(),
    /** The refusal's record is still being written. */
    auditPending: z.literal(true).optional(),
  }),
});

export type ErrorBody = z.infer<typeof errorBodySchema>;

/** The body of `POST /v1/sessions`. */
export const sessionStartRequestSchema = z.strictObject({
  profile: z
    .string()
    .min(1, 'must not be empty')
    .max(64)
    .describe('Execution profile name (see list_profiles)'),
  ttlSeconds: z
    .number()
    .int()
    .min(60)
    .max(8 * 3600)
    .optional()
    .describe("Lifetime in seconds (at most the profile's maxSessionSeconds and the caller's JIT window)"),
  purpose: z
    .string()
    .max(MAX_PURPOSE_CHARS)
    .optional()
    .describe('The task this session serves (kept in the audit record)'),
});
export type SessionStartRequest = z.output<typeof sessionStartRequestSchema>;

/** The body of a 201 from `POST /v1/sessions`. */
export const sessionStartResponseSchema = z.object({
  sessionId: z.string(),
  profile: z.string(),
  expiresAt: z.string().describe('ISO instant the session ends on its own'),
  secretVariables: z.array(z.string()).describe('Names (never values) of the secrets sealed for the session'),
});
export type SessionStartResponse = z.infer<typeof sessionStartResponseSchema>;

/** The body of `POST /v1/sessions/{sessionId}/executions`: an execution without a profile. */
export const sessionExecutionRequestSchema = executionRequestSchema.omit({ profile: true });
export type SessionExecutionRequest = z.output<typeof sessionExecutionRequestSchema>;

/** The body of a 200 from `POST /v1/sessions/{sessionId}/executions`. */
export const sessionExecutionResponseSchema = executionResponseSchema.extend({
  sessionId: z.string(),
  sequence: z.number().int().describe('1 for the first call of the session, 2 for the next, ...'),
  state: z
    .object({
      bytes: z.number().describe('Size of the state carried to the next call'),
      dropped: z.array(z.string()).describe('Names that could not be carried (not picklable, ...)'),
      saved: z.boolean().describe('Whether the state of this call was kept for the next call'),
      error: z
        .object({ code: z.string(), message: z.string() })
        .optional()
        .describe(
          'Why the state was not kept (STATE_TOO_LARGE, ...): the next call starts from the previous state',
        ),
    })
    .optional(),
});
export type SessionExecutionResponse = z.infer<typeof sessionExecutionResponseSchema>;

/** `GET /v1/sessions/{sessionId}` (and each entry of `GET /v1/sessions`). */
const sessionSummarySchema = z.object({
  sessionId: z.string(),
  profile: z.string(),
  status: z.enum(['active', 'ended', 'expired']),
  createdAt: z.string(),
  expiresAt: z.string(),
  executions: z.number().int(),
  stateBytes: z.number().int(),
  endedAt: z.string().optional(),
  endReason: z.enum(['deleted', 'expired', 'revoked']).optional(),
});
export type SessionSummary = z.infer<typeof sessionSummarySchema>;

const sessionListResponseSchema = z.object({ sessions: z.array(sessionSummarySchema) });
export type SessionListResponse = z.infer<typeof sessionListResponseSchema>;

/** The body of a 200 from `DELETE /v1/sessions/{sessionId}`. */
export const sessionEndResponseSchema = z.object({ sessionId: z.string(), status: z.literal('ended') });
export type SessionEndResponse = z.infer<typeof sessionEndResponseSchema>;
