/**
 * The local stack's contract: `.custody/local.json`, written by the local server when it is up
 * and read by every client (the CLI, the MCP server, scripts) to find it. One schema for both.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/** The file's name inside the data directory (`.custody`, or `CUSTODY_HOME`). */
export const LOCAL_STACK_FILE = 'local.json';

export const localStackInfoSchema = z.object({
  /** `http://127.0.0.1:<port>` */
  apiEndpoint: z.string(),
  dynamodbEndpoint: z.string(),
  /** #16: the local S3-compatible server holding the datasets and artifacts (`http://127.0.0.1:<port>`). */
  s3Endpoint: z.string().optional(),
  auditTableName: z.string(),
  region: z.string(),
  credentialsFile: z.string(),
  auditLog: z.string(),
  secretsFile: z.string(),
  /** Public key (PEM) the audit digests are signed with. */
  auditPublicKey: z.string(),
  profiles: z.array(z.string()).readonly(),
  /** Absolute path of the policy file the server runs (the CLI checks revocation targets against it). */
  policyFile: z.string(),
  pid: z.number(),
  startedAt: z.string(),
});

/** The contents of `.custody/local.json`: how any client finds the running local stack. */
export type LocalStackInfo = Readonly<z.infer<typeof localStackInfoSchema>>;

/**
 * Reads `<home>/local.json`: undefined when there is none, or when it is not a local stack's
 * (unreadable, not JSON, or missing the endpoint), so a caller can say "start it" instead.
 * Fields added by newer servers are kept; fields older servers lacked may be missing.
 */
export function readLocalStack(
  home: string,
): (Partial<LocalStackInfo> & Pick<LocalStackInfo, 'apiEndpoint' | 'region'>) | undefined {
  let text: string;
  try {
    text = readFileSync(join(home, LOCAL_STACK_FILE), 'utf8');
  } catch {
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = localStackInfoSchema
    .partial()
    .required({ apiEndpoint: true, region: true })
    .safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
