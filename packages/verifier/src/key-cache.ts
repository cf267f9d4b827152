import type { CachedKey } from './key-record.js';

/** Bounds of a {@link KeyCache}. */
export interface KeyCacheOptions {
  /** Most keys kept; the least recently used is dropped beyond it (default 100,000). */
  maxKeys?: number;
  /** Most unknown hashes remembered as "not found" (default 10,000). */
  maxUnknown?: number;
}

/** Most distinct scope lists kept as shared copies. */
const MAX_SHARED_SCOPE_LISTS = 10_000;

/** A cached key with its recency, in one object: a hit reads no wrapper. */
interface Entry extends CachedKey {
  /** Value of the insertion counter when the entry was last put at the young end. */
  gen: number;
}

/**
 * Keys by SHA-256 in memory, least recently used first out, plus a bounded negative cache of
 * hashes that storage did not know. Pure memory: no I/O, no clock; validity is decided by the
 * caller from the cached timestamps at request time.
 *
 * Recency is tracked approximately, to keep a hit to one `Map.get`: a hit moves its entry to the
 * young end only when at least a quarter of the capacity was inserted since it was last put there.
 * An entry used at least once per `maxKeys / 4` insertions is therefore never evicted.
 */
export class KeyCache {
  readonly maxKeys: number;
  readonly maxUnknown: number;
  // A Map iterates in insertion order: re-inserting on a hit makes the first entry the LRU one.
  readonly #keys = new Map<string, Entry>();
  #inserted = 0;
  readonly #unknown = new Set<string>();
  // Keys mostly share a few scope lists: one shared copy of each keeps a hit's reads in the CPU cache.
  readonly #scopeLists = new Map<string, readonly string[]>();

  constructor(options: KeyCacheOptions = {}) {
    this.maxKeys = positive('maxKeys', options.maxKeys ?? 100_000);
    this.maxUnknown = positive('maxUnknown', options.maxUnknown ?? 10_000, true);
  }

  /** The cached key, `null` for a hash known to be unknown, `undefined` when nothing is cached. */
  get(hash: string): CachedKey | null | undefined {
    const entry = this.#keys.get(hash);
    if (entry !== undefined) {
      if (this.#inserted - entry.gen > this.maxKeys >> 2) {
        entry.gen = this.#inserted;
        this.#keys.delete(hash);
        this.#keys.set(hash, entry);
      }
      return entry;
    }
    return this.#unknown.has(hash) ? null : undefined;
  }

  /** Remembers a key found in storage. */
  setKey(key: CachedKey): void {
    this.#unknown.delete(key.hash);
    this.#keys.delete(key.hash);
    this.#keys.set(key.hash, entryOf(key, this.#shared(key.scopes), ++this.#inserted));
    if (this.#keys.size > this.maxKeys) this.#evictOldest(this.#keys);
  }

  /** Remembers that storage holds no key with this hash. */
  setUnknown(hash: string): void {
    if (this.maxUnknown === 0) return;
    this.#keys.delete(hash);
    this.#unknown.delete(hash);
    this.#unknown.add(hash);
    if (this.#unknown.size > this.maxUnknown) this.#evictOldest(this.#unknown);
  }

  /** Forgets whatever is cached for a hash (a key changed, or was created). */
  invalidate(hash: string): void {
    this.#keys.delete(hash);
    this.#unknown.delete(hash);
  }

  /** Forgets everything. */
  clear(): void {
    this.#keys.clear();
    this.#unknown.clear();
  }

  /** Number of cached keys and of remembered unknown hashes. */
  get size(): { keys: number; unknown: number } {
    return { keys: this.#keys.size, unknown: this.#unknown.size };
  }

  #shared(scopes: readonly string[]): readonly string[] {
    const id = scopes.join('\n');
    const known = this.#scopeLists.get(id);
    if (known) return known;
    if (this.#scopeLists.size < MAX_SHARED_SCOPE_LISTS) this.#scopeLists.set(id, Object.freeze([...scopes]));
    return scopes;
  }

  #evictOldest(entries: Map<string, Entry> | Set<string>): void {
    const oldest = entries.keys().next();
    if (!oldest.done) entries.delete(oldest.value);
  }
}

/** The entry for a key: a literal of one shape for every key (a spread would vary, and run slower). */
function entryOf(key: CachedKey, scopes: readonly string[], gen: number): Entry {
  return {
    id: key.id,
    consumerId: key.consumerId,
    scopes,
    revokedAt: key.revokedAt,
    retiresAt: key.retiresAt,
    expiresAt: key.expiresAt,
    allowedRanges: key.allowedRanges,
    metadata: key.metadata,
    hash: key.hash,
    name: key.name,
    version: key.version,
    lineageId: key.lineageId,
    rateLimit: key.rateLimit,
    quota: key.quota,
    planId: key.planId,
    gen,
  };
}

function positive(name: string, value: number, zeroAllowed = false): number {
  if (!Number.isInteger(value) || value < (zeroAllowed ? 0 : 1)) {
    throw new RangeError(`KeyCache: ${name} must be an integer ≥ ${zeroAllowed ? 0 : 1}`);
  }
  return value;
}
