/**
 * The session key vault in local mode (KMS's role on AWS): one 32-byte master key in an owner-only
 * file under `.custody/`, made on first use. A session's data key is 32 random bytes, returned with
 * its wrapped form: AES-256-GCM under the master key, the context (session id and principal id)
 * bound as additional data, so a wrapped key opens only for the session and principal it was made
 * for, as KMS's encryption context does.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { SessionDataKey, SessionKeyContext, SessionKeyVault } from '../../core/session.ts';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Wrapped keys start with this; a later format gets another. */
const VERSION = 'lv1';

function contextAad(context: SessionKeyContext): Buffer {
  return Buffer.from(JSON.stringify(['custody-session', context.sessionId, context.principalId]), 'utf8');
}

export class LocalSessionKeyVault implements SessionKeyVault {
  private constructor(private readonly masterKey: Buffer) {}

  /** The vault of `file`: its key, or a new one written owner-only if the file does not exist. */
  static open(file: string): LocalSessionKeyVault {
    if (!existsSync(file)) {
      writeFileSync(file, randomBytes(KEY_BYTES), { mode: 0o600, flag: 'wx' });
    }
    chmodSync(file, 0o600);
    const key = readFileSync(file);
    if (key.byteLength !== KEY_BYTES) {
      throw new Error(
        `${file}: a session master key has ${KEY_BYTES} bytes; remove the file to make a new one`,
      );
    }
    return new LocalSessionKeyVault(key);
  }

  async newKey(context: SessionKeyContext): Promise<SessionDataKey> {
    const plaintext = randomBytes(KEY_BYTES);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.masterKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(contextAad(context));
    const wrapped = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return { plaintext: new Uint8Array(plaintext), wrapped: `${VERSION}.${wrapped.toString('base64')}` };
  }

  async unwrap(wrapped: string, context: SessionKeyContext): Promise<Uint8Array> {
    const [version, body] = wrapped.split('.', 2);
    const bytes = Buffer.from(body ?? '', 'base64');
    if (version !== VERSION || bytes.byteLength !== IV_BYTES + KEY_BYTES + TAG_BYTES) {
      throw new Error('not a wrapped session key');
    }
    const decipher = createDecipheriv('aes-256-gcm', this.masterKey, bytes.subarray(0, IV_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(contextAad(context));
    decipher.setAuthTag(bytes.subarray(IV_BYTES + KEY_BYTES));
    // Throws if the key was wrapped for another context, or changed.
    const plain = Buffer.concat([
      decipher.update(bytes.subarray(IV_BYTES, IV_BYTES + KEY_BYTES)),
      decipher.final(),
    ]);
    return new Uint8Array(plain);
  }
}
