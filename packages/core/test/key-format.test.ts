import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHECKSUM_LENGTH, generateKey, hashKey, hintOf, parseKey, RANDOM_LENGTH, sha256Hex } from '../src/index.js';

describe('key format', () => {
  it('generates keys that parse back, with ≥256 random bits and a 6-char checksum', () => {
    const { key, hash, hint } = generateKey('kr_live');
    expect(key.startsWith('kr_live_')).toBe(true);
    expect(RANDOM_LENGTH * Math.log2(62)).toBeGreaterThanOrEqual(256);
    expect(key.length).toBe('kr_live_'.length + RANDOM_LENGTH + CHECKSUM_LENGTH);
    expect(parseKey(key)).toEqual({
      prefix: 'kr_live',
      random: key.slice(8, 8 + RANDOM_LENGTH),
      checksum: key.slice(-6),
    });
    expect(hash).toBe(sha256Hex(key));
    expect(hashKey(key)).toBe(hash);
    expect(hint).toBe(`kr_live_…${key.slice(-4)}`);
    expect(hint).toBe(hintOf(key));
  });

  it('never generates the same key twice', () => {
    const keys = new Set(Array.from({ length: 500 }, () => generateKey('kr_test').key));
    expect(keys.size).toBe(500);
  });

  it('rejects an invalid prefix at generation', () => {
    expect(() => generateKey('Bad Prefix')).toThrow(RangeError);
  });

  it('rejects any single-character change (property)', () => {
    const { key } = generateKey('kr_live');
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_';
    fc.assert(
      fc.property(fc.nat(key.length - 1), fc.constantFrom(...alphabet), (pos, ch) => {
        fc.pre(key[pos] !== ch);
        const mutated = key.slice(0, pos) + ch + key.slice(pos + 1);
        expect(parseKey(mutated)).toBeNull();
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects arbitrary strings and truncations (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        expect(parseKey(s)).toBeNull();
      }),
    );
    const { key } = generateKey('kr_root');
    fc.assert(
      fc.property(fc.nat(key.length - 1), (n) => {
        expect(parseKey(key.slice(0, n))).toBeNull();
      }),
    );
  });

  it('round-trips every valid prefix (property)', () => {
    const prefix = fc.stringMatching(/^[a-z][a-z0-9]{0,6}(_[a-z0-9]{1,5}){0,2}$/);
    fc.assert(
      fc.property(prefix, (p) => {
        const g = generateKey(p);
        expect(parseKey(g.key)?.prefix).toBe(p);
      }),
      { numRuns: 200 },
    );
  });
});
