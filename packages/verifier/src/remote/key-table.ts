import { ApiError, type Cidr, parseCidr } from '@keyroll/core';
import type { KeyLookup } from '../key-lookup.js';
import type { CachedKey } from '../key-record.js';
import { CompactKeyStore } from './compact-key-store.js';
import type { EdgeKey } from './data-plane-wire.js';

/**
 * Every key an edge holds, by SHA-256 (packed: {@link CompactKeyStore}): the whole table, not a cache, so a hash it does not hold is
 * an unknown key (`null`) and no lookup ever does I/O. While `refusing()` says so (the link to the
 * control plane is stale beyond its bound), every lookup throws a 503 `UNAVAILABLE`. `refusing` is
 * given the time of the lookup when the caller has read the clock already (`peek(hash, now)`), and
 * reads it itself otherwise.
 */
export class KeyTable implements KeyLookup {
  #keys = new CompactKeyStore();
  readonly #refusing: (now: number | undefined) => boolean;

  constructor(refusing: (now: number | undefined) => boolean) {
    this.#refusing = refusing;
  }

  get(hash: string): Promise<CachedKey | null> {
    try {
      return Promise.resolve(this.peek(hash));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  peek(hash: string, now?: number): CachedKey | null {
    if (this.#refusing(now)) {
      throw new ApiError('UNAVAILABLE', 'this edge has not heard from the control plane within its staleness bound', {
        retryable: true,
        reason: 'stale',
      });
    }
    return this.#keys.get(hash);
  }

  /** Stores (or replaces) a key received from the control plane. */
  set(key: EdgeKey): void {
    this.#keys.set(cachedOf(key));
  }

  /** Drops a key the control plane no longer holds. */
  delete(hash: string): void {
    this.#keys.delete(hash);
  }

  /** Replaces every key at once (a snapshot reload): lookups see the old table or the new one, never a mix. */
  replaceAll(keys: Iterable<EdgeKey>): void {
    const load = this.load();
    for (const key of keys) load.add(key);
    load.commit();
  }

  /**
   * Starts a replacement of every key, filled as a snapshot streams in: until `commit`, lookups
   * (and `set`/`delete`) go to the current table; `commit` swaps the new one in at once, so lookups
   * see the old table or the new one, never a mix. A load never committed (the snapshot failed
   * half-way) is simply dropped. `expectedKeys` presizes the new table (a hint; it grows past it).
   */
  load(expectedKeys = 0): KeyTableLoad {
    const next = new CompactKeyStore(expectedKeys);
    let committed = false;
    return {
      add: (key) => {
        if (committed) throw new Error('this load is committed already');
        next.set(cachedOf(key));
      },
      get size() {
        return next.size;
      },
      commit: () => {
        if (committed) throw new Error('this load is committed already');
        committed = true;
        this.#keys = next;
      },
    };
  }

  /** Number of keys held. */
  get size(): number {
    return this.#keys.size;
  }
}

/** A replacement of every key of a {@link KeyTable}, being filled (see {@link KeyTable.load}). */
export interface KeyTableLoad {
  /** Stores (or replaces) a key in the new table; lookups do not see it before `commit`. */
  add(key: EdgeKey): void;
  /** Keys in the new table so far. */
  readonly size: number;
  /** Makes the new table the one lookups see. */
  commit(): void;
}

function cachedOf(k: EdgeKey): CachedKey {
  return {
    id: k.id,
    consumerId: k.consumerId,
    hash: k.hash,
    name: k.name,
    version: k.version,
    lineageId: k.lineageId,
    scopes: k.scopes,
    metadata: k.metadata,
    allowedRanges: k.allowedIps ? k.allowedIps.map(parseCidr).filter((c): c is Cidr => c !== null) : null,
    rateLimit: k.rateLimit,
    quota: k.quota,
    planId: k.planId,
    expiresAt: k.expiresAt,
    retiresAt: k.retiresAt,
    revokedAt: k.revokedAt,
  };
}
