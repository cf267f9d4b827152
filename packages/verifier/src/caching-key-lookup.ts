import { ApiError } from '@keyroll/core';
import { type ChangeRecord, FEED_RESET } from './change-feed.js';
import { KeyCache, type KeyCacheOptions } from './key-cache.js';
import type { KeyLookup } from './key-lookup.js';
import type { CachedKey } from './key-record.js';

/** What a {@link CachingKeyLookup} is built from. */
export interface CachingKeyLookupOptions extends KeyCacheOptions {
  /** Where misses are read from (usually a `StorageKeyLookup`). */
  source: KeyLookup;
  /** A storage read slower than this counts as storage being unreachable (default 2,000 ms). */
  missTimeoutMs?: number;
}

/**
 * A {@link KeyCache} in front of storage: a hit is answered from memory without any I/O; a miss
 * is read once (concurrent misses for one hash share the read) and remembered, found or not. The
 * change feed calls {@link CachingKeyLookup.apply} so that a changed key is read afresh.
 * When storage cannot be read, a miss throws `ApiError('UNAVAILABLE')` — never "not found".
 * @example
 * const lookup = new CachingKeyLookup({ source: new StorageKeyLookup(store), maxKeys: 100_000 });
 * const verifier = new Verifier({ lookup });
 */
export class CachingKeyLookup implements KeyLookup {
  readonly cache: KeyCache;
  readonly #source: KeyLookup;
  readonly #missTimeoutMs: number;
  readonly #loads = new Map<string, Promise<CachedKey | null>>();

  constructor(options: CachingKeyLookupOptions) {
    this.cache = new KeyCache(options);
    this.#source = options.source;
    this.#missTimeoutMs = options.missTimeoutMs ?? 2000;
  }

  get(hash: string): Promise<CachedKey | null> {
    const cached = this.cache.get(hash);
    return cached === undefined ? this.#miss(hash) : Promise.resolve(cached);
  }

  peek(hash: string): CachedKey | null | undefined {
    return this.cache.get(hash);
  }

  /** Forgets a hash, and makes a read of it that is under way not to be remembered. */
  invalidate(hash: string): void {
    this.cache.invalidate(hash);
    this.#loads.delete(hash);
  }

  /**
   * Applies one entry of the change log to the cache. A cached key holds only its own row, and
   * every change to a key row carries the key's hash; changes without one (consumers, plans,
   * rotations, policies) leave the cache alone — limits inherited from consumers and plans are
   * kept current by the limit source's own listener. A {@link FEED_RESET} drops everything.
   */
  apply(change: ChangeRecord): void {
    const hash = change.keyHash;
    switch (change.kind) {
      case FEED_RESET:
        this.cache.clear();
        this.#loads.clear();
        return;
      case 'key.created':
      case 'key.updated':
      case 'key.revoked':
      case 'rotation.started':
      case 'rotation.claimed':
      case 'rotation.completed':
      case 'rotation.rolled_back':
      case 'rotation.extended':
      case 'rotation.shortened':
        if (hash) this.invalidate(hash);
        return;
      case 'rotation.reminder':
      case 'consumer.created':
      case 'consumer.updated':
      case 'consumer.deleted':
      case 'plan.created':
      case 'plan.updated':
      case 'plan.deleted':
      case 'rotation_policy.set':
      case 'rotation_policy.deleted':
        return; // no key row changed
      default:
        change.kind satisfies never; // a new kind must be handled above
        if (hash) this.invalidate(hash); // a newer node's kind about a key
    }
  }

  #miss(hash: string): Promise<CachedKey | null> {
    const pending = this.#loads.get(hash);
    if (pending) return pending;
    const load: Promise<CachedKey | null> = this.#read(hash).then(
      (found) => {
        // Only the read still registered for this hash is current: an invalidation unregisters it.
        if (this.#loads.get(hash) === load) {
          this.#loads.delete(hash);
          if (found) this.cache.setKey(found);
          else this.cache.setUnknown(hash);
        }
        return found;
      },
      (cause: unknown) => {
        if (this.#loads.get(hash) === load) this.#loads.delete(hash);
        throw new ApiError('UNAVAILABLE', 'key storage is unreachable: only cached keys can be verified now', {
          retryable: true,
          reason: cause instanceof Error && cause.message === TIMEOUT ? 'timeout' : 'storage_error',
        });
      },
    );
    this.#loads.set(hash, load);
    return load;
  }

  async #read(hash: string): Promise<CachedKey | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(TIMEOUT)), this.#missTimeoutMs);
    });
    try {
      return await Promise.race([this.#source.get(hash), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

const TIMEOUT = 'key lookup timed out';
