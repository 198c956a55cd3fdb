import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { NodeSha256 } from '../../../lambda/adapters/local/node-sha256.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const utf8 = (text: string) => new TextEncoder().encode(text);

describe('NodeSha256', () => {
  it('hashes what it is given, in pieces', async () => {
    const hash = new NodeSha256();
    hash.update(utf8('custo'));
    hash.update(utf8('dy'));
    expect(hex(await hash.digest())).toBe(createHash('sha256').update('custody').digest('hex'));
  });

  it('computes an HMAC with a string, byte-view or ArrayBuffer key', async () => {
    const expected = createHmac('sha256', 'key').update('message').digest('hex');
    const key = utf8('key');
    for (const secret of ['key', key, new Uint8Array([0, ...key]).subarray(1), key.buffer]) {
      const hmac = new NodeSha256(secret);
      hmac.update(utf8('message'));
      expect(hex(await hmac.digest())).toBe(expected);
    }
  });

  it('starts over after reset', async () => {
    const hmac = new NodeSha256('key');
    hmac.update(utf8('noise'));
    hmac.reset();
    hmac.update(utf8('message'));
    expect(hex(await hmac.digest())).toBe(createHmac('sha256', 'key').update('message').digest('hex'));
  });
});
