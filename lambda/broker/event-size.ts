/**
 * The executor event fits Lambda's 6 MB payload limit by construction (#16): it is measured as it
 * will be sent (`executor-payload.ts`: files plain, or gzipped where that helps) before anything
 * is invoked, and one that would not fit is refused with a 413 naming the limit, never sent to
 * fail as a 502. The decision measures it before the secrets are read, keeping room for their
 * values (SECRET_RESERVE_BYTES each); the execute step measures it again, exactly, with them.
 */
import { PayloadTooLargeError } from '../core/errors.ts';
import { encodeSandboxEvent } from '../core/executor-payload.ts';
import { MAX_EXECUTOR_PAYLOAD_BYTES } from '../core/limits.ts';
import type { SandboxRequest } from '../core/types.ts';

/** Room kept per secret the profile injects: Secrets Manager's 64 KiB value, its name and quotes. */
export const SECRET_RESERVE_BYTES = 64 * 1024 + 256;

/** The refusal of an event over Lambda's limit (with `reserveBytes` still to come), else undefined. */
export function eventSizeProblem(
  request: SandboxRequest,
  reserveBytes = 0,
): PayloadTooLargeError | undefined {
  const { bytes } = encodeSandboxEvent(request);
  if (bytes + reserveBytes <= MAX_EXECUTOR_PAYLOAD_BYTES) return undefined;
  const reserve = reserveBytes > 0 ? ` (with ${reserveBytes} bytes kept for the profile's secrets)` : '';
  return new PayloadTooLargeError(
    `files: the executor event would be ${bytes} bytes${reserve}, over Lambda's payload limit of ${MAX_EXECUTOR_PAYLOAD_BYTES} bytes even with the files compressed; send smaller files.`,
  );
}
