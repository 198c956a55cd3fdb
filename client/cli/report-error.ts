/**
 * Turns what a command threw into a message on stderr and an exit code. A failure of something
 * custody depends on (the API, DynamoDB, KMS, the network) is "unavailable" (8); an exception
 * nobody expected is "internal" (12): a bug to report, not an outage to wait out.
 */
import { DependencyError } from '../../lambda/core/errors.ts';
import { StackOutputsError } from '../../lambda/core/stack-outputs.ts';
import {
  CustodyApiError,
  CustodyConfigError,
  CustodyCredentialsError,
  CustodyNetworkError,
} from '../index.ts';
import { EXIT, type ExitCode } from './exit-codes.ts';
import { type CliIo, line } from './io.ts';
import { UsageError } from './usage-error.ts';

/** Node's errors for a connection that could not be made or was lost. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

function exitForApiError(error: CustodyApiError): ExitCode {
  if (error.status === 403) return EXIT.denied;
  if (error.status >= 500) return EXIT.unavailable;
  return EXIT.rejected;
}

/** An AWS service's answer (it carries `$metadata`) or a connection failure. */
function isDependencyFailure(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if (error instanceof DependencyError || error instanceof StackOutputsError) return true;
  if ('$metadata' in error) return true;
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  const cause = (error as { cause?: unknown }).cause;
  return cause !== undefined && cause !== error && isDependencyFailure(cause);
}

/** The way out when nothing listens on this machine: most likely the local server is stopped. */
function hint(message: string): string {
  return /ECONNREFUSED (127\.0\.0\.1|::1|localhost)/.test(message)
    ? '; if this is the local stack, start it with `npm start`'
    : '';
}

export function reportError(error: unknown, io: CliIo): ExitCode {
  if (error instanceof UsageError) {
    line(io.stderr, error.message);
    return EXIT.usage;
  }
  if (error instanceof CustodyApiError) {
    const id = error.executionId ? ` (execution ${error.executionId})` : '';
    const verb = error.status === 403 ? 'denied' : error.status >= 500 ? 'unavailable' : 'rejected';
    line(io.stderr, `custody: ${verb}, ${error.code}: ${error.message}${id}`);
    return exitForApiError(error);
  }
  if (error instanceof CustodyConfigError || error instanceof CustodyCredentialsError) {
    line(io.stderr, `custody: ${error.message}`);
    return EXIT.config;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof CustodyNetworkError || isDependencyFailure(error)) {
    line(io.stderr, `custody: ${message}${hint(message)}`);
    return EXIT.unavailable;
  }
  line(io.stderr, `custody: internal error: ${message}`);
  if (error instanceof Error && error.stack && io.env.CUSTODY_DEBUG) line(io.stderr, error.stack);
  return EXIT.internal;
}
