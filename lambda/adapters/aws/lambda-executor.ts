/**
 * ExecutorPort on AWS: a synchronous Lambda Invoke of the profile's executor function, signed
 * with the execution's assumed credentials (so only a session allowed to invoke that executor can).
 *
 * - The SandboxRequest must fit Lambda's 6 MB synchronous payload limit; larger is a 413 before
 *   any call is made.
 * - No SDK retries: an Invoke that may have run must not run twice.
 * - A function error or a timeout is the executor failing (DependencyError 'executor'), unlike
 *   the user's code failing, which is a normal SandboxResult.
 */
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { DependencyError, PayloadTooLargeError, ThrottledError } from '../../core/errors.ts';
import { encodeSandboxEvent } from '../../core/executor-payload.ts';
import { MAX_EXECUTOR_PAYLOAD_BYTES } from '../../core/limits.ts';
import type { AssumedSession, ExecutorPort } from '../../core/ports.ts';
import type { SandboxRequest, SandboxResult } from '../../core/types.ts';
import { parseSandboxResult } from './sandbox-result-schema.ts';

/** Lambda's limit on a synchronous invocation's request (and response) payload. */
export const MAX_INVOKE_PAYLOAD_BYTES = MAX_EXECUTOR_PAYLOAD_BYTES;

export interface LambdaExecutorOptions {
  readonly region: string;
  /** profile -> executor function ARN. */
  readonly executors: Readonly<Record<string, string>>;
  /** Time allowed beyond the sandbox's own timeout (cold start, sandbox start-up). @default 20_000 */
  readonly overheadMs?: number;
}

function isTimeoutText(text: string): boolean {
  return /Task timed out|Sandbox\.Timedout/i.test(text);
}

export class LambdaExecutor implements ExecutorPort {
  constructor(private readonly options: LambdaExecutorOptions) {}

  /** A client that signs with the session's credentials, never the broker's own. */
  clientFor(session: AssumedSession): LambdaClient {
    const { accessKeyId, secretAccessKey, sessionToken, expiration } = session.credentials;
    return new LambdaClient({
      region: this.options.region,
      credentials: { accessKeyId, secretAccessKey, sessionToken, expiration },
      maxAttempts: 1,
    });
  }

  async run(session: AssumedSession, profile: string, request: SandboxRequest): Promise<SandboxResult> {
    const functionName = Object.hasOwn(this.options.executors, profile)
      ? this.options.executors[profile]
      : undefined;
    if (!functionName) {
      throw new DependencyError('executor', `No executor is deployed for profile "${profile}".`);
    }
    // Files as text, base64 or gzip (executor-payload.ts); the broker measured the same event.
    const event = encodeSandboxEvent(request);
    if (event.bytes > MAX_INVOKE_PAYLOAD_BYTES) {
      throw new PayloadTooLargeError(
        `The execution request is ${event.bytes} bytes; code and files together must stay under ${MAX_INVOKE_PAYLOAD_BYTES} bytes.`,
      );
    }
    const payload = Buffer.from(event.json, 'utf8');
    const client = this.clientFor(session);
    let out: InvokeCommandOutput;
    try {
      out = await client.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'RequestResponse',
          Payload: payload,
        }),
        { abortSignal: AbortSignal.timeout(request.limits.timeoutMs + (this.options.overheadMs ?? 20_000)) },
      );
    } catch (error) {
      const name = (error as { name?: string }).name ?? 'Error';
      if (name === 'TooManyRequestsException') {
        throw new ThrottledError('The executor is at its concurrency limit; retry the request later.', {
          cause: error,
        });
      }
      if (name === 'AbortError' || name === 'TimeoutError') {
        throw new DependencyError('executor', 'The executor did not answer in time.', { cause: error });
      }
      throw new DependencyError('executor', `The executor could not be invoked (${name}).`, { cause: error });
    } finally {
      client.destroy();
    }

    const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
    if (out.FunctionError) {
      if (isTimeoutText(text)) {
        throw new DependencyError('executor', 'The executor timed out before the sandbox answered.');
      }
      let errorType = out.FunctionError;
      try {
        const body = JSON.parse(text) as { errorType?: unknown };
        if (typeof body.errorType === 'string' && /^[\w.]{1,64}$/.test(body.errorType))
          errorType = body.errorType;
      } catch {
        // not JSON: keep the FunctionError kind
      }
      throw new DependencyError('executor', `The executor failed (${errorType}).`);
    }
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw new DependencyError('executor', 'The executor returned a result that is not JSON.');
    }
    const parsed = parseSandboxResult(document);
    if (!parsed.ok) {
      throw new DependencyError('executor', `The executor returned a malformed result (${parsed.problem}).`);
    }
    return parsed.result;
  }
}
