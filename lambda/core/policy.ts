/**
 * The policy file: the one place a team declares who may run what.
 *
 * Read by the CDK app at synth time (it creates one execution role and one executor per profile),
 * by the broker at cold start, and by the local mode. Validated with zod; a malformed file fails
 * with a message naming the file, the path inside it and what is wrong.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { PolicyFileError } from './errors.ts';
import {
  DEFAULT_MAX_SESSION_SECONDS,
  DEFAULT_MAX_STATE_BYTES,
  MAX_SESSION_SECONDS_LIMIT,
} from './session.ts';
import { LANGUAGES } from './types.ts';
import { allIssues } from './zod-issues.ts';

/** Where the CDK app, the broker bundle and the local mode look for the policy by default. */
export const DEFAULT_POLICY_FILE = 'custody.policy.json';

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** STS SourceIdentity: 2-64 chars of [\w+=,.@-]; we also use it in session names, so keep it short. */
const PRINCIPAL_ID = /^[A-Za-z0-9+=,.@_-]{2,32}$/;
const PROFILE_NAME = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;
/** Environment variable names a secret is exposed under. */
const ENV_NAME = /^[A-Z_][A-Z0-9_]{0,63}$/;
/** IAM role or user ARN (any partition); assumed-role session ARNs are matched to their role. */
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/([\w+=,.@/-]+)$/;

/** Code kept verbatim in an audit record must leave room in DynamoDB's 400 KB item for the rest. */
const MAX_AUDITED_CODE_BYTES = 262_144;

const isoInstant = z.iso.datetime({ offset: true });

const secretSchema = z.strictObject({
  /** Variable name the secret value is exposed under (os.environ / process.env). */
  variable: z.string().regex(ENV_NAME, 'must be an upper-case environment variable name'),
  /** Secrets Manager secret name (not an ARN: the stack resolves the ARN). */
  secretName: z.string().regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, 'must be a Secrets Manager secret name'),
});

/** S3 bucket names (the general-purpose rules: 3-63 chars, lower case, digits, dots, hyphens). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** An object key prefix: empty or relative segments ending in `/`; no `..`, no leading `/`. */
const KEY_PREFIX = /^(?:[A-Za-z0-9!_.*'()-]+\/)*$/;
/** Dataset names: the folder the sandbox sees them under (`/data/<name>/`). */
const DATASET_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
/** Pyodide package names as `pyodide-lock.json` spells them. */
const PYTHON_PACKAGE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** npm package names, optionally scoped. */
const NPM_PACKAGE = /^(?:@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]{0,213}$/;

/** A read-only dataset (#16): the execution role may read exactly `bucket/prefix*`. */
const datasetSchema = z.strictObject({
  bucket: z.string().regex(BUCKET_NAME, 'must be an S3 bucket name'),
  prefix: z.string().max(512).regex(KEY_PREFIX, 'must be empty or relative key segments ending in "/"'),
  /** Bytes one execution may read from this dataset. @default 4_194_304 */
  maxBytes: z.number().int().min(1).max(4_194_304).default(4_194_304),
  /** The customer-managed KMS key the objects are encrypted with: kms:Decrypt via S3 only. @default none */
  kmsKeyArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, 'must be a KMS key ARN')
    .optional(),
});

/** Where a run's output files are also stored (#16): `prefix/<executionId>/<path>`, PutObject only. */
const outputsSchema = z.strictObject({
  bucket: z.string().regex(BUCKET_NAME, 'must be an S3 bucket name'),
  prefix: z.string().max(512).regex(KEY_PREFIX, 'must be empty or relative key segments ending in "/"'),
});

const approvedCodeSchema = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('any') }),
  z.strictObject({
    mode: z.literal('allowlist'),
    /** sha256 (hex) of code that may run verbatim. */
    sha256: z.array(z.string().regex(SHA256_HEX, 'must be a lower-case hex sha256')).default([]),
    /** Regular expressions (JavaScript syntax) that the whole code must match. */
    patterns: z
      .array(
        z.string().refine((p) => {
          try {
            new RegExp(p);
            return true;
          } catch {
            return false;
          }
        }, 'must be a valid regular expression'),
      )
      .default([]),
  }),
]);

const profileSchema = z.strictObject({
  description: z.string().max(256).default(''),
  languages: z.array(z.enum(LANGUAGES)).min(1),
  /**
   * Deadline of the user's code. API Gateway's default integration timeout is 29 s, so the stack
   * refuses a profile whose deadline leaves no room for the broker unless the API timeout is raised.
   * @default 10_000
   */
  timeoutMs: z.number().int().min(100).max(300_000).default(10_000),
  /** Memory of the profile's executor Lambda; the sandbox limit is derived from it. @default 1024 */
  memoryMiB: z.number().int().min(256).max(10_240).default(1024),
  /** @default 65_536 */
  maxCodeBytes: z.number().int().min(1).max(1_048_576).default(65_536),
  /** Cap on each of stdout, stderr and output files; Lambda's 6 MB response bounds it. @default 1_048_576 */
  maxOutputBytes: z.number().int().min(1).max(1_048_576).default(1_048_576),
  secrets: z.array(secretSchema).default([]),
  approvedCode: approvedCodeSchema.default({ mode: 'any' }),
  /** Whether the audit record keeps the full code or only its sha256. @default 'full' */
  auditCode: z.enum(['full', 'digest']).default('full'),
  /** Reserved concurrency of the profile's executor; undefined = unreserved. */
  reservedConcurrency: z.number().int().min(1).max(1000).optional(),
  /** Longest session (`POST /v1/sessions`) of this profile, in seconds (#15). @default 3600 */
  maxSessionSeconds: z
    .number()
    .int()
    .min(60)
    .max(MAX_SESSION_SECONDS_LIMIT)
    .default(DEFAULT_MAX_SESSION_SECONDS),
  /** Cap on the state a session carries between calls, in bytes (#15). @default 2_097_152 */
  maxStateBytes: z.number().int().min(1024).max(4_194_304).default(DEFAULT_MAX_STATE_BYTES),
  /** Cap on the input files of one request, in bytes (#16). @default 1_048_576 */
  maxInputBytes: z.number().int().min(1).max(4_194_304).default(1_048_576),
  /** Read-only datasets the execution role may read, by name (#16). @default {} */
  datasets: z
    .record(z.string().regex(DATASET_NAME, 'dataset names are lower-case [a-z0-9_-]'), datasetSchema)
    .default({}),
  /** Where output files are also stored as artifacts (#16). @default none */
  outputs: outputsSchema.optional(),
  /** Pyodide packages bundled into this profile's executor at synth (#17). */
  python: z
    .strictObject({
      packages: z.array(z.string().regex(PYTHON_PACKAGE, 'must be a Pyodide package name')).default([]),
    })
    .default({ packages: [] }),
  /** Pure-JavaScript npm packages bundled by esbuild at synth (#17). */
  javascript: z
    .strictObject({
      packages: z.array(z.string().regex(NPM_PACKAGE, 'must be an npm package name')).default([]),
    })
    .default({ packages: [] }),
});

const grantSchema = z
  .strictObject({
    profile: z.string(),
    /** Just-in-time window: the grant is valid from notBefore (inclusive) to notAfter (exclusive). */
    notBefore: isoInstant.optional(),
    notAfter: isoInstant.optional(),
  })
  .refine((g) => !g.notBefore || !g.notAfter || Date.parse(g.notBefore) < Date.parse(g.notAfter), {
    message: 'notBefore must be earlier than notAfter',
    path: ['notAfter'],
  });

const principalSchema = z.strictObject({
  /** Short id: used as STS SourceIdentity (an ARN is not allowed there) and in session names. */
  id: z.string().regex(PRINCIPAL_ID, 'must be 2-32 characters of [A-Za-z0-9+=,.@_-]'),
  /** IAM role or user ARN. A caller using an assumed-role session of this role matches it. */
  arn: z
    .string()
    .regex(PRINCIPAL_ARN, 'must be an IAM role or user ARN (arn:aws:iam::123456789012:role/Name)'),
  description: z.string().max(256).default(''),
  /** May read every audit record (GET /v1/executions/{id} of any caller). @default false */
  auditor: z.boolean().default(false),
  grants: z.array(grantSchema).default([]),
});

const apiSchema = z
  .strictObject({
    /** Accounts whose principals may call the API (resource policy). */
    allowedAccounts: z.array(z.string().regex(/^\d{12}$/, 'must be a 12-digit account id')).default([]),
    /** AWS Organizations id whose principals may call the API (resource policy). */
    allowedOrganizationId: z
      .string()
      .regex(/^o-[a-z0-9]{10,32}$/)
      .optional(),
    /** Stage throttling. @default 20 */
    throttleRateLimit: z.number().min(1).max(10_000).default(20),
    /** @default 40 */
    throttleBurstLimit: z.number().int().min(1).max(5_000).default(40),
  })
  .default({ allowedAccounts: [], throttleRateLimit: 20, throttleBurstLimit: 40 });

const policySchema = z
  .strictObject({
    version: z.literal(1),
    api: apiSchema,
    profiles: z.record(
      z.string().regex(PROFILE_NAME, 'profile names are lower-case kebab-case'),
      profileSchema,
    ),
    principals: z.array(principalSchema),
  })
  .superRefine((policy, ctx) => {
    const ids = new Set<string>();
    const arns = new Set<string>();
    policy.principals.forEach((p, i) => {
      if (ids.has(p.id))
        ctx.addIssue({
          code: 'custom',
          message: `duplicate principal id "${p.id}"`,
          path: ['principals', i, 'id'],
        });
      if (arns.has(p.arn))
        ctx.addIssue({
          code: 'custom',
          message: `duplicate principal arn "${p.arn}"`,
          path: ['principals', i, 'arn'],
        });
      ids.add(p.id);
      arns.add(p.arn);
      p.grants.forEach((g, j) => {
        if (!(g.profile in policy.profiles)) {
          ctx.addIssue({
            code: 'custom',
            message: `grant names profile "${g.profile}", which is not declared under profiles`,
            path: ['principals', i, 'grants', j, 'profile'],
          });
        }
      });
    });
    for (const [name, profile] of Object.entries(policy.profiles)) {
      if (profile.auditCode === 'full' && profile.maxCodeBytes > MAX_AUDITED_CODE_BYTES) {
        ctx.addIssue({
          code: 'custom',
          message: `with auditCode "full" the code is stored in the audit record, whose DynamoDB item is capped at 400 KB: use at most ${MAX_AUDITED_CODE_BYTES} bytes or auditCode "digest"`,
          path: ['profiles', name, 'maxCodeBytes'],
        });
      }
      const vars = new Set<string>();
      profile.secrets.forEach((s, k) => {
        if (vars.has(s.variable))
          ctx.addIssue({
            code: 'custom',
            message: `duplicate variable "${s.variable}"`,
            path: ['profiles', name, 'secrets', k, 'variable'],
          });
        vars.add(s.variable);
      });
    }
  });

export type Policy = z.infer<typeof policySchema>;
export type Profile = Policy['profiles'][string];
export type Principal = Policy['principals'][number];
export type Grant = Principal['grants'][number];

/** Validates an already-parsed policy document. `source` names it in errors (a file path). */
export function parsePolicy(document: unknown, source = 'policy'): Policy {
  const parsed = policySchema.safeParse(document);
  if (parsed.success) return parsed.data;
  // Paths read `profiles.analytics.timeoutMs` / `principals[0].grants[1].profile`.
  const lines = allIssues(parsed.error, { root: '(root)' }).map((line) => `  - ${line}`);
  throw new PolicyFileError(`Invalid policy file ${source}:\n${lines.join('\n')}`);
}

/** Reads and validates a policy file. Throws PolicyFileError naming the file and the bad field. */
export function loadPolicyFile(path: string): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PolicyFileError(`Cannot read policy file ${path}: ${(err as Error).message}`, { cause: err });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (err) {
    throw new PolicyFileError(`Policy file ${path} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parsePolicy(document, path);
}

/** The accounts the API's resource policy admits: configured ones, else the principals' own. */
export function allowedAccounts(policy: Policy): string[] {
  if (policy.api.allowedAccounts.length > 0) return [...new Set(policy.api.allowedAccounts)];
  return [...new Set(policy.principals.map((p) => p.arn.split(':')[4] as string))];
}
