/**
 * Signs audit digests with an asymmetric AWS KMS key (KeySpec ECC_NIST_P256, KeyUsage SIGN_VERIFY).
 * The private key never leaves KMS; the broker has no kms:Sign permission, only the digest
 * function does. The message is sent as its SHA-256 digest (MessageType DIGEST), so digests of
 * any size can be signed (RAW messages are limited to 4,096 bytes).
 */
import { createHash, type KeyObject } from 'node:crypto';
import {
  GetPublicKeyCommand,
  type GetPublicKeyCommandOutput,
  type KMSClient,
  SignCommand,
} from '@aws-sdk/client-kms';
import { AuditWriteError, describeError } from '../../audit/errors.ts';
import { type AuditSigner, p256Problem, toPublicKey } from '../../core/audit-signer.ts';

export class KmsAuditSigner implements AuditSigner {
  readonly keyId: string;
  private readonly client: KMSClient;
  private cachedPublicKey: Promise<KeyObject> | undefined;

  constructor(options: { readonly client: KMSClient; readonly keyId: string }) {
    this.client = options.client;
    this.keyId = options.keyId;
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    const digest = createHash('sha256').update(message).digest();
    let signature: Uint8Array | undefined;
    try {
      const out = await this.client.send(
        new SignCommand({
          KeyId: this.keyId,
          Message: digest,
          MessageType: 'DIGEST',
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      );
      signature = out.Signature;
    } catch (error) {
      throw new AuditWriteError(
        `KMS could not sign the audit digest with key ${this.keyId}: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
    if (signature === undefined || signature.length === 0) {
      throw new AuditWriteError(`KMS returned no signature for the audit digest (key ${this.keyId})`);
    }
    return signature;
  }

  publicKey(): Promise<KeyObject> {
    this.cachedPublicKey ??= this.fetchPublicKey().catch((error: unknown) => {
      this.cachedPublicKey = undefined;
      throw error;
    });
    return this.cachedPublicKey;
  }

  private async fetchPublicKey(): Promise<KeyObject> {
    let out: GetPublicKeyCommandOutput;
    try {
      out = await this.client.send(new GetPublicKeyCommand({ KeyId: this.keyId }));
    } catch (error) {
      throw new AuditWriteError(
        `KMS could not return the public key of ${this.keyId}: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
    if (out.KeySpec !== 'ECC_NIST_P256' || !(out.SigningAlgorithms ?? []).includes('ECDSA_SHA_256')) {
      throw new AuditWriteError(
        `KMS key ${this.keyId} is ${out.KeySpec ?? 'of unknown spec'}; audit digests need ECC_NIST_P256 with ECDSA_SHA_256`,
      );
    }
    if (out.PublicKey === undefined)
      throw new AuditWriteError(`KMS returned no public key for ${this.keyId}`);
    const key = toPublicKey(out.PublicKey);
    const problem = p256Problem(key);
    if (problem !== undefined) throw new AuditWriteError(`KMS key ${this.keyId}: ${problem}`);
    return key;
  }
}
