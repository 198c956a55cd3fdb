/**
 * CredentialsPort on AWS: one STS AssumeRole per execution, against the regional STS endpoint.
 *
 * Retries are the SDK's own: a `ConfiguredRetryStrategy` (the standard strategy, its retry quota
 * included) with a bounded number of attempts and full-jitter backoff. The SDK classifies what is
 * worth retrying (throttling and transient errors: 5xx, timeouts, connection resets); nothing else
 * is retried. Throttling that outlasts the budget is reported as 429; any other failure
 * (AccessDenied, a malformed answer, the network) is a DependencyError and the broker fails closed.
 */
import {
  AssumeRoleCommand,
  type AssumeRoleCommandOutput,
  STSClient,
  type STSClientConfig,
} from '@aws-sdk/client-sts';
import { ConfiguredRetryStrategy, isThrottlingError } from '@smithy/core/retry';
import type { SdkError } from '@smithy/types';
import { DependencyError, ThrottledError } from '../../core/errors.ts';
import type { AssumedSession, AssumeRoleInput, CredentialsPort } from '../../core/ports.ts';

/** `arn:P:iam::A:role/path/NAME` -> `arn:P:sts::A:assumed-role/NAME/SESSION` (what STS reports). */
function assumedRoleArnOf(roleArn: string, sessionName: string): string {
  const m = /^arn:([^:]+):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(roleArn);
  return m ? `arn:${m[1]}:sts::${m[2]}:assumed-role/${m[3]}/${sessionName}` : '';
}

export interface StsCredentialsOptions {
  readonly region: string;
  /** Attempts in all, retried ones included. @default 4 */
  readonly maxAttempts?: number;
  /** Backoff base; retry n waits a random time in [0, base * 2^(n-1)). @default 100 */
  readonly baseDelayMs?: number;
  /** Jitter source for the backoff. @default Math.random */
  readonly random?: () => number;
  /** Where the client sends and how it signs (tests point it at a local server). @default the regional endpoint, the default credential chain */
  readonly client?: Pick<STSClientConfig, 'endpoint' | 'credentials'>;
}

/** Full jitter: the wait before retry `retry` (1-based) is uniform in [0, base * 2^(retry-1)). */
export function fullJitterDelayMs(retry: number, baseDelayMs: number, random: () => number): number {
  return random() * baseDelayMs * 2 ** (retry - 1);
}

export class StsCredentials implements CredentialsPort {
  readonly client: STSClient;

  constructor(options: StsCredentialsOptions) {
    const baseDelayMs = options.baseDelayMs ?? 100;
    const random = options.random ?? Math.random;
    this.client = new STSClient({
      ...options.client,
      region: options.region,
      useGlobalEndpoint: false,
      retryStrategy: new ConfiguredRetryStrategy(Math.max(1, options.maxAttempts ?? 4), (retry) =>
        fullJitterDelayMs(retry, baseDelayMs, random),
      ),
    });
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
    let out: AssumeRoleCommandOutput;
    try {
      out = await this.client.send(command);
    } catch (error) {
      if (error && typeof error === 'object' && isThrottlingError(error as SdkError)) {
        throw new ThrottledError('STS is throttling role assumption; retry the request later.', {
          cause: error,
        });
      }
      const name = (error as { name?: string }).name ?? 'Error';
      throw new DependencyError(
        'credentials',
        `STS could not assume the profile's execution role (${name}).`,
        {
          cause: error,
        },
      );
    }
    return sessionFrom(out, input);
  }
}

function sessionFrom(out: AssumeRoleCommandOutput, input: AssumeRoleInput): AssumedSession {
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
}
