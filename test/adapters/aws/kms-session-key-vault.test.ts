import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  DecryptCommand,
  type DecryptCommandInput,
  GenerateDataKeyCommand,
  type GenerateDataKeyCommandInput,
  InvalidCiphertextException,
  KMSClient,
  KMSInvalidStateException,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { KmsSessionKeyVault } from '../../../lambda/adapters/aws/kms-session-key-vault.ts';
import { DependencyError } from '../../../lambda/core/errors.ts';
import { TAG_SESSION_ID } from '../../../lambda/core/session.ts';

const KEY_ID = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const OTHER_KEY_ID = 'arn:aws:kms:eu-west-1:111122223333:key/99999999-12ab-34cd-56ef-1234567890ab';
const A = { sessionId: 'ses_01JD8X3M7Q9V2K4T6W8Y0Z1A2B', principalId: 'agent' };
const kms = mockClient(KMSClient);
afterEach(() => kms.reset());

const vault = () => new KmsSessionKeyVault({ client: new KMSClient({ region: 'eu-west-1' }), keyId: KEY_ID });

/**
 * KMS as far as these calls go, with real cryptography: each key is a local AES-256 key; a data
 * key is wrapped with AES-256-GCM whose additional data is the encryption context (canonical:
 * sorted keys), and the blob names its key. Decrypt checks the key id and the GCM tag, so a blob
 * presented with another context, or under another key, fails as KMS fails: InvalidCiphertext.
 */
function fakeKms() {
  const keys = new Map([
    [KEY_ID, randomBytes(32)],
    [OTHER_KEY_ID, randomBytes(32)],
  ]);
  const aad = (context: Record<string, string> | undefined) =>
    Buffer.from(JSON.stringify(Object.entries(context ?? {}).sort(([a], [b]) => a.localeCompare(b))));
  const invalid = () => new InvalidCiphertextException({ message: 'invalid', $metadata: {} });
  kms.on(GenerateDataKeyCommand).callsFake((input: GenerateDataKeyCommandInput) => {
    const master = keys.get(input.KeyId ?? '');
    if (master === undefined || input.KeySpec !== 'AES_256') throw new Error('bad request');
    const plaintext = randomBytes(32);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', master, iv).setAAD(aad(input.EncryptionContext));
    const sealed = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const blob = Buffer.from(
      JSON.stringify({
        key: input.KeyId,
        iv: iv.toString('base64'),
        sealed: sealed.toString('base64'),
        tag: cipher.getAuthTag().toString('base64'),
      }),
    );
    return { KeyId: input.KeyId, Plaintext: new Uint8Array(plaintext), CiphertextBlob: new Uint8Array(blob) };
  });
  kms.on(DecryptCommand).callsFake((input: DecryptCommandInput) => {
    let parsed: { key: string; iv: string; sealed: string; tag: string };
    try {
      parsed = JSON.parse(Buffer.from(input.CiphertextBlob ?? new Uint8Array()).toString('utf8'));
    } catch {
      throw invalid();
    }
    // KMS refuses a blob made under another key than the KeyId named (IncorrectKeyException).
    if (input.KeyId !== undefined && input.KeyId !== parsed.key) throw invalid();
    const master = keys.get(parsed.key)!;
    try {
      const decipher = createDecipheriv('aes-256-gcm', master, Buffer.from(parsed.iv, 'base64'))
        .setAAD(aad(input.EncryptionContext))
        .setAuthTag(Buffer.from(parsed.tag, 'base64'));
      const plaintext = Buffer.concat([
        decipher.update(Buffer.from(parsed.sealed, 'base64')),
        decipher.final(),
      ]);
      return { KeyId: parsed.key, Plaintext: new Uint8Array(plaintext) };
    } catch {
      throw invalid();
    }
  });
}

describe('KmsSessionKeyVault', () => {
  it('asks KMS for an AES-256 data key under the session key, bound to the session and principal', async () => {
    fakeKms();
    const key = await vault().newKey(A);
    expect(key.plaintext).toHaveLength(32);
    expect(kms).toHaveReceivedCommandTimes(GenerateDataKeyCommand, 1);
    expect(kms).toHaveReceivedCommandWith(GenerateDataKeyCommand, {
      KeyId: KEY_ID,
      KeySpec: 'AES_256',
      EncryptionContext: { 'custody:session-id': A.sessionId, 'custody:principal': 'agent' },
    });
    // The context key is the session tag's key: one name for "this session" everywhere.
    const input = kms.commandCalls(GenerateDataKeyCommand)[0]!.args[0].input;
    expect(Object.keys(input.EncryptionContext ?? {})).toContain(TAG_SESSION_ID);
    expect(Object.keys(input)).toEqual(['KeyId', 'KeySpec', 'EncryptionContext']);
  });

  it('unwraps the data key with the same key and context, and gets the same bytes back', async () => {
    fakeKms();
    const key = await vault().newKey(A);
    const unwrapped = await vault().unwrap(key.wrapped, A);
    expect(Buffer.from(unwrapped).equals(Buffer.from(key.plaintext))).toBe(true);
    expect(kms).toHaveReceivedCommandWith(DecryptCommand, {
      KeyId: KEY_ID,
      CiphertextBlob: new Uint8Array(Buffer.from(key.wrapped, 'base64')),
      EncryptionContext: { 'custody:session-id': A.sessionId, 'custody:principal': 'agent' },
    });
  });

  it('cannot unwrap a session’s key for another session or another principal', async () => {
    fakeKms();
    const { wrapped } = await vault().newKey(A);
    for (const other of [
      { ...A, sessionId: 'ses_01JD8X3M7Q9V2K4T6W8Y0Z1A2C' },
      { ...A, principalId: 'intruder' },
    ]) {
      const error = await vault()
        .unwrap(wrapped, other)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DependencyError);
      expect(error).toMatchObject({ httpStatus: 503, dependency: 'sessions' });
      expect((error as Error).message).toBe(
        `KMS could not unwrap the data key of session ${other.sessionId} for principal ${other.principalId} (InvalidCiphertextException).`,
      );
    }
  });

  it('cannot unwrap a key made under another KMS key, even with the right context', async () => {
    fakeKms();
    const foreign = new KmsSessionKeyVault({
      client: new KMSClient({ region: 'eu-west-1' }),
      keyId: OTHER_KEY_ID,
    });
    const { wrapped } = await foreign.newKey(A);
    await expect(vault().unwrap(wrapped, A)).rejects.toThrow(/InvalidCiphertextException/);
  });

  it('fails closed, naming the session, when KMS refuses to make a key', async () => {
    kms
      .on(GenerateDataKeyCommand)
      .rejects(new KMSInvalidStateException({ message: 'pending deletion', $metadata: {} }));
    await expect(vault().newKey(A)).rejects.toThrow(
      `KMS could not make a data key for session ${A.sessionId} (KMSInvalidStateException).`,
    );
  });

  it('fails closed when KMS answers without a 32-byte key', async () => {
    kms
      .on(GenerateDataKeyCommand)
      .resolves({ Plaintext: new Uint8Array(16), CiphertextBlob: new Uint8Array(8) });
    await expect(vault().newKey(A)).rejects.toThrow(
      `KMS returned no AES-256 data key for session ${A.sessionId}.`,
    );
    kms.on(DecryptCommand).resolves({});
    await expect(vault().unwrap('AAAA', A)).rejects.toThrow(
      `KMS returned no AES-256 data key for session ${A.sessionId}.`,
    );
  });
});
