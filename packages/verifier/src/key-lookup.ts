import { findKeyByHash, type Store } from '@keyroll/storage';
import { type CachedKey, cachedKeyFromRecord } from './key-record.js';

/** Finds keys by the SHA-256 of their secret. Implementations may cache. */
export interface KeyLookup {
  get(hash: string): Promise<CachedKey | null>;
  /**
   * What is cached for a hash, without I/O: a key, `null` (known unknown) or `undefined` (not cached).
   * `now` is the caller's reading of the clock for this verification (epoch ms), for a lookup that
   * needs the time (an edge's staleness bound) so that it need not read the clock again.
   */
  peek?(hash: string, now?: number): CachedKey | null | undefined;
}

/** Reads every lookup from storage; the baseline that caches build on. */
export class StorageKeyLookup implements KeyLookup {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  async get(hash: string): Promise<CachedKey | null> {
    const key = await findKeyByHash(this.#store.db, hash);
    return key ? cachedKeyFromRecord(key) : null;
  }
}
