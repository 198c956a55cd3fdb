import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditSigner } from '../../../lambda/adapters/local/file-audit-signer.ts';
import { toPublicKey, verifySignature } from '../../../lambda/core/audit-signer.ts';

describe('FileAuditSigner', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'custody-signer-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a private key only its owner can read, and the public key beside it', async () => {
    const path = join(dir, 'keys', 'audit-signing.pem');
    const signer = await FileAuditSigner.open(path);

    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const publicPem = await readFile(`${path}.pub.pem`, 'utf8');
    const signature = await signer.sign(Buffer.from('digest body'));
    expect(verifySignature(Buffer.from('digest body'), signature, toPublicKey(publicPem))).toBe(true);
    expect(signer.keyId).toMatch(/^local:[0-9a-f]{16}$/);
  });

  it('keeps using the same key across restarts', async () => {
    const path = join(dir, 'same.pem');
    const first = await FileAuditSigner.open(path);
    const second = await FileAuditSigner.open(path);

    expect(second.keyId).toBe(first.keyId);
    const signature = await first.sign(Buffer.from('m'));
    expect(verifySignature(Buffer.from('m'), signature, await second.publicKey())).toBe(true);
  });

  it('refuses a key file that is not a PEM private key, naming the file', async () => {
    const path = join(dir, 'broken.pem');
    await writeFile(path, 'not a key');

    await expect(FileAuditSigner.open(path)).rejects.toThrow(/broken\.pem is not a PEM private key/);
  });
});
