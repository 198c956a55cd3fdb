/**
 * SessionKeyVault on AWS: one AES-256 data key per session from KMS GenerateDataKey under the
 * session key (lib/sessions.ts), bound to the session and its principal by the encryption context
 * `{ custody:session-id, custody:principal }`. KMS decrypts the wrapped key only when presented
 * with the same context, so a wrapped key copied into another session's record is useless; and the
 * broker's IAM policy allows GenerateDataKey/Decrypt on this key only with exactly these context
 * keys (so it cannot, say, decrypt the S3 state objects' keys, whose context is `aws:s3:arn`).
 *
 * Ending a session removes the wrapped key from its record: the sealed secrets and state can then
 * no longer be opened (crypto-shredding).
 */
import {
  DecryptCommand,
  type DecryptCommandOutput,
  GenerateDataKeyCommand,
  type GenerateDataKeyCommandOutput,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { DependencyError } from '../../core/errors.ts';
import type { SessionDataKey, SessionKeyContext, SessionKeyVault } from '../../core/session.ts';

/** The encryption context keys; the broker's key grant requires exactly these (lib/sessions.ts). */
export const SESSION_CONTEXT_KEYS = {
  sessionId: 'custody:session-id',
  principal: 'custody:principal',
} as const;

const DATA_KEY_BYTES = 32;

export interface KmsSessionKeyVaultOptions {
  readonly client: KMSClient;
  /** The session key's ARN. */
  readonly keyId: string;
}

export class KmsSessionKeyVault implements SessionKeyVault {
  constructor(private readonly options: KmsSessionKeyVaultOptions) {}

  async newKey(context: SessionKeyContext): Promise<SessionDataKey> {
    let out: GenerateDataKeyCommandOutput;
    try {
      out = await this.options.client.send(
        new GenerateDataKeyCommand({
          KeyId: this.options.keyId,
          KeySpec: 'AES_256',
          EncryptionContext: encryptionContext(context),
        }),
      );
    } catch (error) {
      throw failure(`could not make a data key for session ${context.sessionId}`, error);
    }
    if (out.Plaintext?.length !== DATA_KEY_BYTES || out.CiphertextBlob === undefined) {
      throw failure(`returned no AES-256 data key for session ${context.sessionId}`);
    }
    return { plaintext: out.Plaintext, wrapped: Buffer.from(out.CiphertextBlob).toString('base64') };
  }

  async unwrap(wrapped: string, context: SessionKeyContext): Promise<Uint8Array> {
    let out: DecryptCommandOutput;
    try {
      out = await this.options.client.send(
        new DecryptCommand({
          // Naming the key makes KMS refuse a blob made under any other key.
          KeyId: this.options.keyId,
          CiphertextBlob: Buffer.from(wrapped, 'base64'),
          EncryptionContext: encryptionContext(context),
        }),
      );
    } catch (error) {
      throw failure(
        `could not unwrap the data key of session ${context.sessionId} for principal ${context.principalId}`,
        error,
      );
    }
    if (out.Plaintext?.length !== DATA_KEY_BYTES) {
      throw failure(`returned no AES-256 data key for session ${context.sessionId}`);
    }
    return out.Plaintext;
  }
}

function encryptionContext(context: SessionKeyContext): Record<string, string> {
  return {
    [SESSION_CONTEXT_KEYS.sessionId]: context.sessionId,
    [SESSION_CONTEXT_KEYS.principal]: context.principalId,
  };
}

function failure(what: string, cause?: unknown): DependencyError {
  const reason = cause === undefined ? '' : ` (${(cause as { name?: string }).name ?? 'Error'})`;
  return new DependencyError(
    'sessions',
    `KMS ${what}${reason}.`,
    cause === undefined ? undefined : { cause },
  );
}
