import type { CachedKey, KeyLookup } from '@keyroll/verifier/internal';
import type { CacheMetrics } from './keyroll-metrics.js';

/**
 * Wraps the storage lookup behind the verifier's cache: every read that reaches it is a cache miss.
 * Counting here keeps the cache's hot path free of metrics calls; hits are lookups minus misses.
 */
export class MissCountingLookup implements KeyLookup {
  readonly #source: KeyLookup;
  readonly #metrics: CacheMetrics;

  constructor(source: KeyLookup, metrics: CacheMetrics) {
    this.#source = source;
    this.#metrics = metrics;
  }

  get(hash: string): Promise<CachedKey | null> {
    this.#metrics.cacheMiss();
    return this.#source.get(hash);
  }
}
