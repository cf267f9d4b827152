import { ApiError, type Cidr, parseCidr } from '@keyroll/core';
import type { KeyLookup } from '../key-lookup.js';
import type { CachedKey } from '../key-record.js';
import type { EdgeKey } from './data-plane-wire.js';

/** Most distinct scope lists kept as shared copies. */
const MAX_SHARED_SCOPE_LISTS = 10_000;

/**
 * Every key an edge holds, by SHA-256: the whole table, not a cache, so a hash it does not hold is
 * an unknown key (`null`) and no lookup ever does I/O. While `refusing()` says so (the link to the
 * control plane is stale beyond its bound), every lookup throws a 503 `UNAVAILABLE`.
 */
export class KeyTable implements KeyLookup {
  #keys = new Map<string, CachedKey>();
  readonly #scopeLists = new Map<string, readonly string[]>();
  readonly #refusing: () => boolean;

  constructor(refusing: () => boolean) {
    this.#refusing = refusing;
  }

  get(hash: string): Promise<CachedKey | null> {
    try {
      return Promise.resolve(this.peek(hash));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  peek(hash: string): CachedKey | null {
    if (this.#refusing()) {
      throw new ApiError('UNAVAILABLE', 'this edge has not heard from the control plane within its staleness bound', {
        retryable: true,
        reason: 'stale',
      });
    }
    return this.#keys.get(hash) ?? null;
  }

  /** Stores (or replaces) a key received from the control plane. */
  set(key: EdgeKey): void {
    this.#keys.set(key.hash, this.#cached(key));
  }

  /** Drops a key the control plane no longer holds. */
  delete(hash: string): void {
    this.#keys.delete(hash);
  }

  /** Replaces every key at once (a snapshot reload): lookups see the old table or the new one, never a mix. */
  replaceAll(keys: Iterable<EdgeKey>): void {
    const next = new Map<string, CachedKey>();
    for (const key of keys) next.set(key.hash, this.#cached(key));
    this.#keys = next;
  }

  /** Number of keys held. */
  get size(): number {
    return this.#keys.size;
  }

  #cached(k: EdgeKey): CachedKey {
    return {
      id: k.id,
      consumerId: k.consumerId,
      hash: k.hash,
      name: k.name,
      version: k.version,
      lineageId: k.lineageId,
      scopes: this.#shared(k.scopes),
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

  // Keys mostly share a few scope lists: one frozen copy of each saves memory per key.
  #shared(scopes: string[]): readonly string[] {
    const id = scopes.join('\n');
    const known = this.#scopeLists.get(id);
    if (known) return known;
    const frozen = Object.freeze([...scopes]);
    if (this.#scopeLists.size < MAX_SHARED_SCOPE_LISTS) this.#scopeLists.set(id, frozen);
    return frozen;
  }
}
