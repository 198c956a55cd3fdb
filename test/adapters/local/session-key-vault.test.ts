import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalSessionKeyVault } from '../../../lambda/adapters/local/session-key-vault.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function keyFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'custody-vault-'));
  dirs.push(dir);
  return join(dir, 'session-master.key');
}

const A = { sessionId: 'ses_01HZX3K7R8M9N0P1Q2R3S4T5V6', principalId: 'agent' };

describe('LocalSessionKeyVault', () => {
  it('makes an owner-only 32-byte master key once and keeps using it', async () => {
    const file = keyFile();
    const vault = LocalSessionKeyVault.open(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file).byteLength).toBe(32);
    const key = await vault.newKey(A);
    expect(key.plaintext.byteLength).toBe(32);
    expect(key.wrapped).not.toContain(Buffer.from(key.plaintext).toString('base64'));
    // A restart opens the same file: keys wrapped before still unwrap.
    expect(await LocalSessionKeyVault.open(file).unwrap(key.wrapped, A)).toEqual(key.plaintext);
  });

  it('unwraps a key only for the session and principal it was made for', async () => {
    const vault = LocalSessionKeyVault.open(keyFile());
    const { wrapped } = await vault.newKey(A);
    await expect(
      vault.unwrap(wrapped, { ...A, sessionId: 'ses_01HZX3K7R8M9N0P1Q2R3S4T5V7' }),
    ).rejects.toThrow();
    await expect(vault.unwrap(wrapped, { ...A, principalId: 'other' })).rejects.toThrow();
    await expect(LocalSessionKeyVault.open(keyFile()).unwrap(wrapped, A)).rejects.toThrow();
    const tampered = `${wrapped.slice(0, -6)}AAAA==`;
    await expect(vault.unwrap(tampered, A)).rejects.toThrow();
  });
});
