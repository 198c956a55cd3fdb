import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { boxBytes, boxFromBytes, openBox, sealBox } from '../../../lambda/broker/sessions/seal-box.ts';
import { DependencyError } from '../../../lambda/core/errors.ts';

const A = 'ses_01HZX3K7R8M9N0P1Q2R3S4T5V6';
const B = 'ses_01HZX3K7R8M9N0P1Q2R3S4T5V7';
const text = Buffer.from('{"TOKEN":"s3cr3t"}');

describe('sealed boxes', () => {
  it('open under the same key, session and purpose', () => {
    const key = randomBytes(32);
    const box = sealBox(key, text, A, 'secrets');
    expect(box.ciphertext).not.toContain('s3cr3t');
    expect(openBox(key, boxFromBytes(boxBytes(box)), A, 'secrets').toString()).toBe(text.toString());
  });

  it.each([
    [
      'another key',
      (key: Buffer) => ({ key: randomBytes(32), sessionId: A, purpose: 'secrets' as const, key0: key }),
    ],
    ['another session', (key: Buffer) => ({ key, sessionId: B, purpose: 'secrets' as const })],
    ['another purpose', (key: Buffer) => ({ key, sessionId: A, purpose: 'state' as const })],
  ])('fail closed under %s', (_, other) => {
    const key = randomBytes(32);
    const box = sealBox(key, text, A, 'secrets');
    const o = other(key);
    expect(() => openBox(o.key, box, o.sessionId, o.purpose)).toThrow(DependencyError);
  });

  it.each(['ciphertext', 'tag', 'iv'] as const)('fail closed when one bit of the %s changed', (field) => {
    const key = randomBytes(32);
    const box = sealBox(key, text, A, 'state');
    const bytes = Buffer.from(box[field], 'base64');
    bytes[0] = (bytes[0] as number) ^ 1;
    expect(() => openBox(key, { ...box, [field]: bytes.toString('base64') }, A, 'state')).toThrow(
      /sealed state did not open/,
    );
  });

  it('refuse stored bytes that are not a box', () => {
    expect(() => boxFromBytes(Buffer.from('plain text'))).toThrow(DependencyError);
    expect(() => boxFromBytes(Buffer.from('{"iv":1}'))).toThrow(/not a sealed box/);
  });
});
