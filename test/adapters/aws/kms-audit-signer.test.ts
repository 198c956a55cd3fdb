import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { KmsAuditSigner } from '../../../lambda/adapters/aws/kms-audit-signer.ts';
import { FileAuditSigner } from '../../../lambda/adapters/local/file-audit-signer.ts';
import { AuditWriteError } from '../../../lambda/audit/errors.ts';
import { verifySignature } from '../../../lambda/core/audit-signer.ts';

const KEY_ID = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const kms = mockClient(KMSClient);
afterEach(() => kms.reset());

/** What KMS holds: a P-256 key pair; Sign signs the given SHA-256 digest with the private key. */
function kmsKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return { privateKey, publicKey, spki };
}

describe('KmsAuditSigner', () => {
  it('asks KMS to sign the SHA-256 digest of the message with ECDSA_SHA_256', async () => {
    const message = Buffer.from('{"sequence":1}');
    kms.on(SignCommand).resolves({ Signature: new Uint8Array([48, 1, 2]), KeyId: KEY_ID });
    await new KmsAuditSigner({ client: new KMSClient({ region: 'eu-west-1' }), keyId: KEY_ID }).sign(message);

    expect(kms).toReceiveCommandTimes(SignCommand, 1);
    expect(kms).toReceiveCommandWith(SignCommand, {
      KeyId: KEY_ID,
      MessageType: 'DIGEST',
      SigningAlgorithm: 'ECDSA_SHA_256',
      Message: new Uint8Array(createHash('sha256').update(message).digest()),
    });
  });

  it("produces a DER signature that node:crypto verifies against the key's public key", async () => {
    const key = kmsKey();
    const message = Buffer.from('{"auditDigest":"body"}');
    // KMS signs a digest; ECDSA over SHA-256(message) is what node:crypto makes from the message.
    kms
      .on(SignCommand)
      .resolves({ Signature: sign('sha256', message, { key: key.privateKey, dsaEncoding: 'der' }) });
    kms.on(GetPublicKeyCommand).resolves({
      KeyId: KEY_ID,
      PublicKey: new Uint8Array(key.spki),
      KeySpec: 'ECC_NIST_P256',
      KeyUsage: 'SIGN_VERIFY',
      SigningAlgorithms: ['ECDSA_SHA_256'],
    });
    const signer = new KmsAuditSigner({ client: new KMSClient({ region: 'eu-west-1' }), keyId: KEY_ID });

    const signature = await signer.sign(message);
    const publicKey = await signer.publicKey();
    expect(verifySignature(message, signature, publicKey)).toBe(true);
    expect(verifySignature(Buffer.from('{"auditDigest":"forged"}'), signature, publicKey)).toBe(false);
    expect(verifySignature(message, signature, await FileAuditSigner.generate().publicKey())).toBe(false);
    expect(kms).toReceiveCommandWith(GetPublicKeyCommand, { KeyId: KEY_ID });
  });

  it('asks KMS for the public key once', async () => {
    const key = kmsKey();
    kms.on(GetPublicKeyCommand).resolves({
      PublicKey: new Uint8Array(key.spki),
      KeySpec: 'ECC_NIST_P256',
      SigningAlgorithms: ['ECDSA_SHA_256'],
    });
    const signer = new KmsAuditSigner({ client: new KMSClient({ region: 'eu-west-1' }), keyId: KEY_ID });
    await signer.publicKey();
    await signer.publicKey();

    expect(kms).toReceiveCommandTimes(GetPublicKeyCommand, 1);
  });

  it('refuses a key that is not ECC_NIST_P256, naming its spec', async () => {
    kms
      .on(GetPublicKeyCommand)
      .resolves({ PublicKey: new Uint8Array([1]), KeySpec: 'RSA_2048', SigningAlgorithms: [] });
    const signer = new KmsAuditSigner({ client: new KMSClient({ region: 'eu-west-1' }), keyId: KEY_ID });

    await expect(signer.publicKey()).rejects.toThrow(/is RSA_2048; audit digests need ECC_NIST_P256/);
  });

  it('throws AuditWriteError naming the key when KMS refuses to sign', async () => {
    kms.on(SignCommand).rejects(
      Object.assign(new Error('User is not authorized to perform kms:Sign'), {
        name: 'AccessDeniedException',
      }),
    );
    const signer = new KmsAuditSigner({ client: new KMSClient({ region: 'eu-west-1' }), keyId: KEY_ID });

    const error = await signer.sign(Buffer.from('x')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditWriteError);
    expect((error as Error).message).toMatch(
      /KMS could not sign the audit digest with key .*AccessDeniedException/,
    );
  });
});
