import { describe, expect, it } from 'vitest';
import { CanonicalJsonError, canonicalJson, sha256Hex } from '../../lambda/core/canonical-json.ts';

describe('canonicalJson', () => {
  it('writes the same bytes whatever order the keys were built in', () => {
    const a = { b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } };
    const b = { a: { c: 'x', d: [3, { y: null, z: true }] }, b: 1 };

    expect(canonicalJson(a)).toBe('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
  });

  it('keeps array order, since order is meaning', () => {
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  it('leaves out undefined properties, as JSON.stringify does', () => {
    expect(canonicalJson({ a: undefined, b: 2 })).toBe('{"b":2}');
  });

  it('orders keys by UTF-16 code units and escapes strings as JSON does (RFC 8785)', () => {
    expect(canonicalJson({ é: 1, z: 2, A: 3, '\u2028': 'line\nbreak "q"' })).toBe(
      '{"A":3,"z":2,"é":1,"\u2028":"line\\nbreak \\"q\\""}',
    );
  });

  it.each([
    ['NaN', { n: Number.NaN }, /\$\.n is NaN/],
    ['Infinity', { n: [1, Number.POSITIVE_INFINITY] }, /\$\.n\[1\] is Infinity/],
    ['a Date', { when: new Date(0) }, /\$\.when is a Date/],
    ['a bigint', { big: 1n }, /\$\.big is a bigint/],
    ['undefined in an array', [undefined], /\$\[0\] is undefined/],
  ])('refuses %s, naming where', (_what, value, message) => {
    expect(() => canonicalJson(value)).toThrow(CanonicalJsonError);
    expect(() => canonicalJson(value)).toThrow(message);
  });

  it('hashes to lower-case hex SHA-256', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
