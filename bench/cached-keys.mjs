// Shared by bench:verify and bench:scale: N cached keys, a verifier over them, and the floor.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { generateKey } from '@keyroll/core';
import { createStore, decodeKey, migrateToLatest } from '@keyroll/storage';
import { CachingKeyLookup, cachedKeyFromRecord, StorageKeyLookup, Verifier } from '@keyroll/verifier/internal';

import { sha256 } from './bench-common.mjs';

export {
  awaitedFloor,
  floorRate,
  loadAverageLine,
  machine,
  median,
  randomOrder,
  sha256,
  verifyNowRate,
  verifyRate,
} from './bench-common.mjs';

/** `n` fresh keys: secrets and the rows storage would hold for them. */
export function makeKeys(n) {
  const keys = new Array(n);
  const rows = new Array(n);
  for (let i = 0; i < n; i++) {
    const g = generateKey('kr_live');
    keys[i] = g.key;
    rows[i] = keyRow(i, g);
  }
  return { keys, rows };
}

/** The row storage holds for the `i`-th generated key `g`. */
export function keyRow(i, g, now = Date.now()) {
  return {
    id: `key_${i.toString(36).padStart(20, '0')}`,
    consumer_id: `csm_${(i % 1000).toString(36).padStart(20, '0')}`,
    name: 'default',
    hash: g.hash,
    hint: g.hint,
    prefix: 'kr_live',
    version: 1,
    predecessor_id: null,
    scopes: '["read","trade"]',
    metadata: '{}',
    allowed_ips: null,
    rate_limit: null,
    quota: null,
    plan_id: null,
    created_at: now,
    updated_at: now,
    expires_at: null,
    retires_at: null,
    revoked_at: null,
    revoke_reason: null,
    last_used_at: null,
  };
}

/**
 * A verifier whose cache holds every row (as the misses of a warm-up would have put them there),
 * in front of a real, empty SQLite store: a single miss would show up as NOT_FOUND.
 */
export async function cachedVerifier(rows, options = {}) {
  const { verifier, lookup, store } = await emptyVerifier(rows.length, options);
  for (const row of rows) lookup.cache.setKey(cachedKeyFromRecord(decodeKey(row)));
  return { verifier, lookup, store };
}

/** A verifier with room for `capacity` cached keys and none cached yet (see {@link cachedVerifier}). */
export async function emptyVerifier(capacity, options = {}) {
  const store = createStore({ dataDir: mkdtempSync(join(os.tmpdir(), 'keyroll-bench-')) });
  await migrateToLatest(store.db, store.dialect);
  const lookup = new CachingKeyLookup({ source: new StorageKeyLookup(store), maxKeys: Math.max(capacity, 1) });
  return { verifier: new Verifier({ lookup, ...options }), lookup, store };
}

/** The raw floor: one SHA-256 (the one-shot call) and one Map lookup per key. */
export function floorMap(rows) {
  const map = new Map();
  for (const row of rows) map.set(row.hash, row);
  return (key) => map.get(sha256(key));
}
