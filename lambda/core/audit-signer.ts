/**
 * The port that signs audit digests with an asymmetric key: AWS KMS (ECC_NIST_P256,
 * ECDSA_SHA_256) on AWS, a P-256 key pair in a file in local mode. Whoever holds only write access
 * to the audit table cannot produce a valid signature, so cannot rewrite digested history.
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';

export interface AuditSigner {
  /** Names the key (KMS key id/ARN, or `local:<fingerprint>`); recorded in each digest. */
  readonly keyId: string;
  /** DER-encoded ECDSA P-256 signature over SHA-256(message). */
  sign(message: Uint8Array): Promise<Uint8Array>;
  /** The public key that checks this signer's signatures. */
  publicKey(): Promise<KeyObject>;
}

/** A public key given as a KeyObject, a PEM string, or DER SubjectPublicKeyInfo bytes. */
export type PublicKeyInput = KeyObject | string | Uint8Array;

export function toPublicKey(key: PublicKeyInput): KeyObject {
  if (typeof key === 'string') return createPublicKey(key);
  if (key instanceof Uint8Array)
    return createPublicKey({ key: Buffer.from(key), format: 'der', type: 'spki' });
  return key;
}

/** True if `signature` (DER ECDSA) is valid for SHA-256(message) under `key`. Never throws on bad signatures. */
export function verifySignature(message: Uint8Array, signature: Uint8Array, key: KeyObject): boolean {
  try {
    return verify('sha256', message, { key, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}

/** Checks that a public key is an EC P-256 key (what ECDSA_SHA_256 digests are signed with). */
export function p256Problem(key: KeyObject): string | undefined {
  if (key.asymmetricKeyType !== 'ec')
    return `the key is ${key.asymmetricKeyType ?? 'not asymmetric'}, not EC`;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve !== 'prime256v1') return `the key's curve is ${curve ?? 'unknown'}, not P-256`;
  return undefined;
}
