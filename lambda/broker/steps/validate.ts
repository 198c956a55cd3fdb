/** Step 2, validate: the body's size, then its shape (`request.ts`). */
import { CustodyError, PayloadTooLargeError } from '../../core/errors.ts';
import { type ExecutionRequest, MAX_BODY_BYTES, parseExecutionRequest } from '../request.ts';

/** The request, or the CustodyError naming what is wrong with it; anything else is thrown. */
export function validate(body: string | null): ExecutionRequest | CustodyError {
  try {
    if (body !== null && Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES) {
      throw new PayloadTooLargeError(`body: larger than ${MAX_BODY_BYTES} bytes`);
    }
    return parseExecutionRequest(body);
  } catch (error) {
    if (!(error instanceof CustodyError)) throw error;
    return error;
  }
}
