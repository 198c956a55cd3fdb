/**
 * AES-256-GCM under a session's data key: the secrets sealed into the session's record at start
 * and the state sealed between calls. The additional data names the session and what the box
 * holds (`<sessionId>:secrets`, `<sessionId>:state`), so a box opens only under its own session's
 * key, for its own purpose: a box moved between sessions or between fields fails closed.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DependencyError } from '../../core/errors.ts';
import type { SealedBox } from '../../core/session.ts';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export type BoxPurpose = 'secrets' | 'state';

function aad(sessionId: string, purpose: BoxPurpose): Buffer {
  return Buffer.from(`${sessionId}:${purpose}`, 'utf8');
}

function checkKey(key: Uint8Array): void {
  if (key.byteLength !== KEY_BYTES) throw new Error(`a session data key has ${KEY_BYTES} bytes`);
}

export function sealBox(
  key: Uint8Array,
  plaintext: Uint8Array,
  sessionId: string,
  purpose: BoxPurpose,
): SealedBox {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(sessionId, purpose));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    iv: iv.toString('base64'),
    ciphertext: ciphertext.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
  };
}

/**
 * The plaintext of a box sealed by `sealBox` with the same key, session and purpose. Anything
 * else (another key, a changed byte, a box of another session) throws DependencyError('sessions'):
 * the call fails closed, and nothing of the box is revealed.
 */
export function openBox(key: Uint8Array, box: SealedBox, sessionId: string, purpose: BoxPurpose): Buffer {
  try {
    checkKey(key);
    const iv = Buffer.from(box.iv, 'base64');
    const tag = Buffer.from(box.tag, 'base64');
    if (iv.byteLength !== IV_BYTES || tag.byteLength !== TAG_BYTES) throw new Error('malformed box');
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(sessionId, purpose));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(box.ciphertext, 'base64')), decipher.final()]);
  } catch (error) {
    throw new DependencyError('sessions', `The session's sealed ${purpose} did not open; nothing was run.`, {
      cause: error,
    });
  }
}

/** A box as the bytes the state store keeps (its JSON). */
export function boxBytes(box: SealedBox): Uint8Array {
  return Buffer.from(JSON.stringify(box), 'utf8');
}

/** The box in bytes written by `boxBytes`; throws DependencyError('sessions') if they are not one. */
export function boxFromBytes(bytes: Uint8Array): SealedBox {
  try {
    const value = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
    if (
      typeof value.iv === 'string' &&
      typeof value.ciphertext === 'string' &&
      typeof value.tag === 'string'
    ) {
      return { iv: value.iv, ciphertext: value.ciphertext, tag: value.tag };
    }
  } catch {
    // Not JSON: refused below.
  }
  throw new DependencyError('sessions', "The session's stored state is not a sealed box; nothing was run.");
}
