import { KeyCache } from '@keyroll/verifier/internal';
import { describe, expect, it } from 'vitest';
import { keyOf } from './limiter/limit-fixtures.js';

describe('KeyCache', () => {
  it('keeps at most maxKeys, dropping the least recently used', () => {
    const cache = new KeyCache({ maxKeys: 3 });
    for (const id of ['a', 'b', 'c']) cache.setKey(keyOf(id, 'csm'));
    expect(cache.get('hash-a')?.id).toBe('a'); // a is now the most recent
    cache.setKey(keyOf('d', 'csm'));
    expect(cache.get('hash-b')).toBeUndefined();
    expect(['a', 'c', 'd'].map((id) => cache.get(`hash-${id}`)?.id)).toEqual(['a', 'c', 'd']);
    expect(cache.size).toEqual({ keys: 3, unknown: 0 });
  });

  it('never evicts a key used at least once per quarter of the capacity of insertions', () => {
    const cache = new KeyCache({ maxKeys: 8 });
    cache.setKey(keyOf('hot', 'csm'));
    for (let i = 0; i < 100; i++) {
      cache.setKey(keyOf(`cold-${i}`, 'csm'));
      if (i % 2 === 0) expect(cache.get('hash-hot')?.id).toBe('hot');
    }
    expect(cache.size.keys).toBe(8);
    expect(cache.get('hash-cold-0')).toBeUndefined();
  });

  it('remembers unknown hashes in a bounded set, distinct from "not cached"', () => {
    const cache = new KeyCache({ maxUnknown: 2 });
    cache.setUnknown('x');
    cache.setUnknown('y');
    cache.setUnknown('z');
    expect(cache.get('x')).toBeUndefined();
    expect(cache.get('y')).toBeNull();
    expect(cache.get('z')).toBeNull();
    expect(cache.size.unknown).toBe(2);
  });

  it('a found key replaces an unknown mark; invalidation forgets both', () => {
    const cache = new KeyCache();
    cache.setUnknown('hash-a');
    cache.setKey(keyOf('a', 'csm'));
    expect(cache.get('hash-a')?.id).toBe('a');
    cache.invalidate('hash-a');
    expect(cache.get('hash-a')).toBeUndefined();
    cache.setUnknown('hash-a');
    cache.invalidate('hash-a');
    expect(cache.get('hash-a')).toBeUndefined();
  });

  it('rejects nonsense bounds', () => {
    expect(() => new KeyCache({ maxKeys: 0 })).toThrow(RangeError);
    expect(() => new KeyCache({ maxUnknown: -1 })).toThrow(RangeError);
    expect(new KeyCache({ maxUnknown: 0 }).maxUnknown).toBe(0);
  });
});
