import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CachedKey } from '../../src/key-record.js';
import { CompactKeyStore, HOT_KEYS } from '../../src/remote/compact-key-store.js';

const hashOf = (i: number) => createHash('sha256').update(`key ${i}`).digest('hex');

function keyOf(i: number, overrides: Partial<CachedKey> = {}): CachedKey {
  return {
    id: `key_${i}`,
    consumerId: `csm_${i % 7}`,
    hash: hashOf(i),
    name: i % 2 ? 'Production' : 'CI',
    version: (i % 5) + 1,
    lineageId: i % 3 ? `key_${i}` : `key_${i - 1}`,
    scopes: i % 2 ? ['read'] : ['read', 'write'],
    metadata: i % 4 ? {} : { team: `t${i}` },
    allowedRanges: null,
    rateLimit: i % 11 ? null : { limit: 10, windowMs: 1000 },
    quota: null,
    planId: i % 13 ? null : 'pln_1',
    expiresAt: i % 6 ? null : 1_800_000_000_000 + i,
    retiresAt: null,
    revokedAt: i % 9 ? null : 1_700_000_000_000,
    ...overrides,
  };
}

describe('CompactKeyStore', () => {
  it('answers like a Map through inserts, updates, deletes and growth', () => {
    const store = new CompactKeyStore();
    const model = new Map<string, CachedKey>();
    // Deterministic interleaving: many inserts (growth), updates and deletes (tombstones, reused rows).
    for (let step = 0; step < 20_000; step++) {
      const i = (step * 7919) % 6000;
      if (step % 5 === 4) {
        store.delete(hashOf(i));
        model.delete(hashOf(i));
      } else {
        const key = keyOf(i, { version: step });
        store.set(key);
        model.set(key.hash, key);
      }
    }
    expect(store.size).toBe(model.size);
    for (let i = 0; i < 6000; i++) {
      const expected = model.get(hashOf(i)) ?? null;
      expect(store.get(hashOf(i))).toEqual(expected);
    }
  });

  it('knows no hash that is not 64 hex digits', () => {
    const store = new CompactKeyStore();
    store.set(keyOf(1));
    expect(store.get('x')).toBeNull();
    expect(store.get(hashOf(1))).toEqual(keyOf(1));
    expect(store.get(hashOf(1).toUpperCase())).toBeNull(); // hashes are lower-case hex, as a Map would hold them
    expect(store.get(`${hashOf(1).slice(0, 63)}g`)).toBeNull();
  });

  it('never answers from its hot keys what a set or a delete has since changed', () => {
    const store = new CompactKeyStore();
    const model = new Map<string, CachedKey>();
    // Every key read (so built and kept hot) between the changes, as verifications would read them.
    for (let step = 0; step < 20_000; step++) {
      const i = (step * 7919) % 3000;
      if (step % 5 === 4) {
        store.delete(hashOf(i));
        model.delete(hashOf(i));
      } else {
        const key = keyOf(i, { version: step, revokedAt: step % 3 === 0 ? 1_700_000_000_000 + step : null });
        store.set(key);
        model.set(key.hash, key);
      }
      // Read twice: a key is kept hot on its second read in a row.
      expect(store.get(hashOf(i))).toEqual(model.get(hashOf(i)) ?? null);
      expect(store.get(hashOf(i))).toEqual(model.get(hashOf(i)) ?? null);
      const j = (step * 104_729) % 3000;
      expect(store.get(hashOf(j))).toEqual(model.get(hashOf(j)) ?? null);
    }
    expect(store.hotSize).toBeGreaterThan(0);
  });

  it('serves a revocation, a replacement and a deletion of a hot key at once', () => {
    const store = new CompactKeyStore();
    store.set(keyOf(1, { revokedAt: null, scopes: ['read'] }));
    store.get(hashOf(1));
    const hot = store.get(hashOf(1));
    expect(hot).toMatchObject({ revokedAt: null });
    expect(store.get(hashOf(1))).toBe(hot); // kept: the same object again
    store.set(keyOf(1, { revokedAt: 1_700_000_000_000, scopes: ['read'] }));
    expect(store.get(hashOf(1))).toMatchObject({ revokedAt: 1_700_000_000_000 });
    store.set(keyOf(1, { revokedAt: null, scopes: ['read', 'write'], version: 9 }));
    expect(store.get(hashOf(1))).toMatchObject({ revokedAt: null, scopes: ['read', 'write'], version: 9 });
    store.delete(hashOf(1));
    expect(store.get(hashOf(1))).toBeNull();
    store.set(keyOf(1, { id: 'key_again' }));
    expect(store.get(hashOf(1))).toMatchObject({ id: 'key_again' });
  });

  it('keeps a key hot from its second read in a row; keys read once do not push it out', () => {
    const store = new CompactKeyStore();
    const n = HOT_KEYS * 4;
    for (let i = 0; i < n; i++) store.set(keyOf(i));
    expect(store.get(hashOf(0))).not.toBe(store.get(hashOf(0))); // read once: built afresh each time…
    const hot = store.get(hashOf(0)); // …until read twice in a row
    expect(store.get(hashOf(0))).toBe(hot);
    // Lookups spread over every other key, each read once (keys of key 0's set among them).
    for (let i = 1; i < n; i++) expect(store.get(hashOf(i))).toEqual(keyOf(i));
    expect(store.get(hashOf(0))).toBe(hot);
    expect(store.hotSize).toBe(1);
  });

  it('keeps at most HOT_KEYS built keys, and answers right past them', () => {
    const store = new CompactKeyStore();
    const n = HOT_KEYS * 2 + 100;
    for (let i = 0; i < n; i++) store.set(keyOf(i));
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < n; i++) {
        expect(store.get(hashOf(i))).toEqual(keyOf(i));
        expect(store.get(hashOf(i))).toEqual(keyOf(i));
      }
      expect(store.hotSize).toBeGreaterThan(HOT_KEYS / 2);
      expect(store.hotSize).toBeLessThanOrEqual(HOT_KEYS);
    }
    const hot = store.hotSize;
    expect(store.get(hashOf(n))).toBeNull(); // an unknown hash is not kept
    expect(store.hotSize).toBe(hot);
  });
});
