/**
 * Local mode's digest signer: an EC P-256 key pair kept in a PEM file (created on first use, mode
 * 0600), signing with node:crypto exactly what KMS signs on AWS (ECDSA over SHA-256, DER). The
 * public key is written beside it (`<file>.pub.pem`) for verifiers that should not hold the
 * private key.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
} from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type AuditSigner, p256Problem } from '../../core/audit-signer.ts';

export class FileAuditSigner implements AuditSigner {
  readonly keyId: string;
  private readonly privateKey: KeyObject;
  private readonly publicKeyObject: KeyObject;

  private constructor(privateKey: KeyObject) {
    this.privateKey = privateKey;
    this.publicKeyObject = createPublicKey(privateKey);
    this.keyId = localKeyId(this.publicKeyObject);
  }

  /** A signer over a key held in memory (tests). */
  static generate(): FileAuditSigner {
    return new FileAuditSigner(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
  }

  /** Loads the key at `path`, creating it (and `<path>.pub.pem`) if it does not exist. */
  static async open(path: string): Promise<FileAuditSigner> {
    let pem: string;
    try {
      pem = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
      await mkdir(dirname(path), { recursive: true });
      try {
        await writeFile(path, pem, { mode: 0o600, flag: 'wx' });
      } catch (writeError) {
        // Another process created it first: use theirs.
        if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError;
        pem = await readFile(path, 'utf8');
      }
    }
    let key: KeyObject;
    try {
      key = createPrivateKey(pem);
    } catch (error) {
      throw new Error(`audit signing key ${path} is not a PEM private key`, { cause: error });
    }
    const problem = p256Problem(createPublicKey(key));
    if (problem !== undefined) throw new Error(`audit signing key ${path}: ${problem}`);
    const signer = new FileAuditSigner(key);
    await writeFile(`${path}.pub.pem`, signer.publicKeyPem(), { mode: 0o644 });
    return signer;
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    return sign('sha256', message, { key: this.privateKey, dsaEncoding: 'der' });
  }

  async publicKey(): Promise<KeyObject> {
    return this.publicKeyObject;
  }

  publicKeyPem(): string {
    return this.publicKeyObject.export({ format: 'pem', type: 'spki' }).toString();
  }
}

/** `local:` + the first 16 hex digits of SHA-256 of the DER public key. */
function localKeyId(publicKey: KeyObject): string {
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return `local:${createHash('sha256').update(der).digest('hex').slice(0, 16)}`;
}
