/**
 * CredentialsPort on AWS: one STS AssumeRole per execution, against the regional STS endpoint.
 *
 * The SDK's own retries are off (`maxAttempts: 1`) so that the retry budget is this adapter's:
 * throttling is retried a bounded number of times with full jitter, then reported as 429; any
 * other failure (AccessDenied, a malformed answer, the network) is a DependencyError and the
 * broker fails closed.
 */
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { DependencyError, ThrottledError } from '../../core/errors.ts';
import type { AssumedSession, AssumeRoleInput, CredentialsPort } from '../../core/ports.ts';

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
]);

export function isThrottling(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return THROTTLING.has(e.name ?? '') || e.$metadata?.httpStatusCode === 429;
}

/** `arn:P:iam::A:role/path/NAME` -> `arn:P:sts::A:assumed-role/NAME/SESSION` (what STS reports). */
export function assumedRoleArnOf(roleArn: string, sessionName: string): string {
  const m = /^arn:([^:]+):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(roleArn);
  return m ? `arn:${m[1]}:sts::${m[2]}:assumed-role/${m[3]}/${sessionName}` : '';
}

export interface StsCredentialsOptions {
  readonly region: string;
  /** Prebuilt client (tests); by default a regional client with SDK retries off. */
  readonly client?: STSClient;
  /** Attempts in all, throttled ones included. @default 4 */
  readonly maxAttempts?: number;
  /** Backoff base; attempt n waits a random time in [0, base * 2^(n-1)). @default 100 */
  readonly baseDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export class StsCredentials implements CredentialsPort {
  readonly client: STSClient;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(options: StsCredentialsOptions) {
    this.client =
      options.client ?? new STSClient({ region: options.region, useGlobalEndpoint: false, maxAttempts: 1 });
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  async assumeRole(input: AssumeRoleInput): Promise<AssumedSession> {
    const command = new AssumeRoleCommand({
      RoleArn: input.roleArn,
      RoleSessionName: input.sessionName,
      SourceIdentity: input.sourceIdentity,
      Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })),
      Policy: input.sessionPolicy,
      DurationSeconds: input.durationSeconds,
    });
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await this.client.send(command);
        const c = out.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
          throw new DependencyError('credentials', 'STS returned no credentials for the execution role.');
        }
        return {
          credentials: {
            accessKeyId: c.AccessKeyId,
            secretAccessKey: c.SecretAccessKey,
            sessionToken: c.SessionToken,
            expiration: c.Expiration,
          },
          roleArn: input.roleArn,
          assumedRoleArn: out.AssumedRoleUser?.Arn ?? assumedRoleArnOf(input.roleArn, input.sessionName),
          sessionName: input.sessionName,
          sourceIdentity: out.SourceIdentity ?? input.sourceIdentity,
        };
      } catch (error) {
        if (error instanceof DependencyError) throw error;
        if (isThrottling(error)) {
          if (attempt < this.maxAttempts) {
            await this.sleep(this.random() * this.baseDelayMs * 2 ** (attempt - 1));
            continue;
          }
          throw new ThrottledError('STS is throttling role assumption; retry the request later.', {
            cause: error,
          });
        }
        const name = (error as { name?: string }).name ?? 'Error';
        throw new DependencyError(
          'credentials',
          `STS could not assume the profile's execution role (${name}).`,
          { cause: error },
        );
      }
    }
  }
}
