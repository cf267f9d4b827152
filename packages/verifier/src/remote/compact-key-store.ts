import type { Cidr } from '@keyroll/core';
import type { CachedKey, QuotaSpec, RateLimitSpec } from '../key-record.js';

/** What a key needs beyond the common case (no IP list, no limits, no plan): kept per key only when set. */
interface Extras {
  allowedRanges: readonly Cidr[] | null;
  rateLimit: RateLimitSpec | null;
  quota: QuotaSpec | null;
  planId: string | null;
}

const HASH_BYTES = 32;
const EMPTY = 0;
const TOMBSTONE = -1;
const NO_TIME = -1;
/**
 * Bytes per row in `#rowBytes`: the SHA-256 (32 bytes), then expiry, retirement and revocation times and
 * the version (float64 each): one 64-byte cache line, read by a lookup's hash comparison and its build.
 */
const ROW_BYTES = 64;
/** Float64 index, within a row, of its expiry time (retirement, revocation and version follow). */
const NUMBERS_AT = HASH_BYTES / 8;
/** Per row in `#refs`: id, consumer id, name, lineage id (`null`: the key's own id), scopes, metadata. */
const REFS = 6;
/** The most keys a store is presized for (a hint from upstream is not trusted with more memory than this). */
export const MAX_PRESIZE = 1 << 22;
const EMPTY_METADATA: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;
/**
 * Most built keys kept for lookups to come (about 1 MB at most): a key verified again is answered
 * without parsing its hash, probing the table or building its {@link CachedKey} afresh.
 */
export const HOT_KEYS = 4096;
/** The hot keys are kept two to a set, the set chosen by the hash's first hex digits. */
const HOT_SET_MASK = HOT_KEYS / 2 - 1;

/**
 * Every key of an edge, packed to stay near 150 bytes per key instead of ~520 for a `Map` of objects:
 * SHA-256 hashes as bytes in an open-addressing table, timestamps and versions in a typed array,
 * consumer ids, names, scope lists and metadata shared between keys, the rare limits and IP lists
 * aside. A lookup builds the {@link CachedKey} it returns, and keeps up to {@link HOT_KEYS} of those
 * it built, recently read ones (dropped on every `set` and `delete` of their hash, so a change is
 * seen at once): two-way set-associative, compared by hash string, so that a hit costs neither a
 * parse nor a `Map`'s hashing of 64 characters.
 */
export class CompactKeyStore {
  /**
   * The open-addressing table, two numbers a slot: the row + 1 (`EMPTY`, `TOMBSTONE`), then a
   * fingerprint of the hash (its bytes 4–7), so that a probe passing other keys' slots reads no row.
   */
  #slots: Int32Array;
  /** Number of slots (a power of two). */
  #capacity: number;
  #rows = 0;
  #free: number[] = [];
  #live = 0;
  #used = 0;
  /** Rows as bytes (their hashes) and as float64s (their numbers): two views of one buffer. */
  #rowBytes: Uint8Array;
  /**
   * A row's numbers (in `#rowBytes`) and its references, each row's side by side (`REFS` per row), so
   * that building a key that is not hot reads two places in memory rather than one array per field.
   */
  #numbers: Float64Array;
  #refs: unknown[] = [];
  readonly #extras = new Map<number, Extras>();
  readonly #interned = new Map<string, string>();
  readonly #scopeLists = new Map<string, readonly string[]>();
  #lastScopes: readonly string[] | null = null;
  readonly #probe = new Uint8Array(HASH_BYTES);
  /**
   * Keys built by `get` and their hashes ('' when empty), two per set: at `2 × set` the latest read,
   * at `2 × set + 1` the one before. Whatever changes a key's row must drop its hash from here.
   */
  readonly #hotHashes: string[] = new Array<string>(HOT_KEYS).fill('');
  readonly #hotKeys: (CachedKey | null)[] = new Array<CachedKey | null>(HOT_KEYS).fill(null);
  /**
   * Per set, a tag of the last hash built without being kept: a key is kept hot on its second read in
   * a row for its set, so lookups spread over many keys neither churn the hot keys nor keep objects.
   */
  readonly #seen = new Int32Array(HOT_KEYS / 2).fill(-1);

  /**
   * An empty store with room for `expectedKeys` (at most {@link MAX_PRESIZE}; it grows past that as
   * keys come), so that loading a snapshot of a known size neither copies its arrays nor rehashes.
   */
  constructor(expectedKeys = 0) {
    const rows = Math.max(512, Math.min(MAX_PRESIZE, Number.isSafeInteger(expectedKeys) ? expectedKeys : 0));
    // Slots stay at most three quarters used (see `set`): a power of two above rows × 4/3.
    let slots = 1024;
    while (slots * 3 < rows * 4) slots *= 2;
    this.#capacity = slots;
    this.#slots = new Int32Array(slots * 2);
    this.#rowBytes = new Uint8Array(rows * ROW_BYTES);
    this.#numbers = new Float64Array(this.#rowBytes.buffer);
  }

  /** Number of keys held. */
  get size(): number {
    return this.#live;
  }

  /** The key with this hex SHA-256, or `null`. */
  get(hash: string): CachedKey | null {
    const at = hotSet(hash);
    if (this.#hotHashes[at] === hash) return this.#hotKeys[at] ?? null;
    if (this.#hotHashes[at + 1] === hash) return this.#hotKeys[at + 1] ?? null;
    if (!toBytes(hash, this.#probe)) return null;
    const slot = this.#find(this.#probe);
    if (slot < 0) return null;
    const built = this.#build((this.#slots[slot * 2] ?? 0) - 1, hash);
    const tag = fingerprint(this.#probe);
    if (this.#seen[at >> 1] !== tag) {
      this.#seen[at >> 1] = tag;
      return built;
    }
    // The latest read first, the one before it second: the set's older key makes room.
    this.#hotHashes[at + 1] = this.#hotHashes[at] ?? '';
    this.#hotKeys[at + 1] = this.#hotKeys[at] ?? null;
    this.#hotHashes[at] = hash;
    this.#hotKeys[at] = built;
    return built;
  }

  /** Number of built keys kept for lookups (at most {@link HOT_KEYS}). */
  get hotSize(): number {
    return this.#hotHashes.filter((h) => h !== '').length;
  }

  /** Stores (or replaces) a key. */
  set(key: CachedKey): void {
    this.#cool(key.hash);
    if (!toBytes(key.hash, this.#probe)) return;
    const found = this.#find(this.#probe);
    let row: number;
    if (found >= 0) row = (this.#slots[found * 2] ?? 0) - 1;
    else {
      if ((this.#used + 1) * 4 > this.#capacity * 3)
        this.#rehash(this.#capacity * (this.#live * 2 > this.#capacity ? 2 : 1));
      row = this.#newRow();
      this.#rowBytes.set(this.#probe, row * ROW_BYTES);
      this.#insertSlot(row);
      this.#live++;
    }
    this.#write(row, key);
  }

  /** Drops a key. */
  delete(hash: string): void {
    this.#cool(hash);
    if (!toBytes(hash, this.#probe)) return;
    const slot = this.#find(this.#probe);
    if (slot < 0) return;
    const row = (this.#slots[slot * 2] ?? 0) - 1;
    this.#slots[slot * 2] = TOMBSTONE;
    this.#extras.delete(row);
    this.#refs.fill(null, row * REFS, row * REFS + REFS);
    this.#free.push(row);
    this.#live--;
  }

  /** Drops a hash from the hot keys. */
  #cool(hash: string): void {
    const at = hotSet(hash);
    for (const i of [at, at + 1]) {
      if (this.#hotHashes[i] === hash) {
        this.#hotHashes[i] = '';
        this.#hotKeys[i] = null;
      }
    }
  }

  #write(row: number, k: CachedKey): void {
    const r = row * REFS;
    const refs = this.#refs;
    refs[r] = k.id;
    refs[r + 1] = this.#intern(k.consumerId);
    refs[r + 2] = this.#intern(k.name);
    refs[r + 3] = k.lineageId === k.id ? null : this.#intern(k.lineageId);
    refs[r + 4] = this.#shared(k.scopes);
    refs[r + 5] = isEmpty(k.metadata) ? EMPTY_METADATA : k.metadata;
    const n = (row * ROW_BYTES) / 8 + NUMBERS_AT;
    this.#numbers[n] = k.expiresAt ?? NO_TIME;
    this.#numbers[n + 1] = k.retiresAt ?? NO_TIME;
    this.#numbers[n + 2] = k.revokedAt ?? NO_TIME;
    this.#numbers[n + 3] = k.version;
    if (k.allowedRanges || k.rateLimit || k.quota || k.planId) {
      this.#extras.set(row, {
        allowedRanges: k.allowedRanges,
        rateLimit: k.rateLimit,
        quota: k.quota,
        planId: k.planId,
      });
    } else this.#extras.delete(row);
  }

  #build(row: number, hash: string): CachedKey {
    // The casts read back what `#write` put at each offset.
    const r = row * REFS;
    const refs = this.#refs;
    const id = refs[r] as string;
    const n = (row * ROW_BYTES) / 8 + NUMBERS_AT;
    const extras = this.#extras.size === 0 ? undefined : this.#extras.get(row);
    return {
      id,
      consumerId: refs[r + 1] as string,
      hash,
      name: refs[r + 2] as string,
      version: this.#numbers[n + 3] ?? 0,
      lineageId: (refs[r + 3] as string | null) ?? id,
      scopes: refs[r + 4] as readonly string[],
      metadata: refs[r + 5] as Record<string, unknown>,
      allowedRanges: extras?.allowedRanges ?? null,
      rateLimit: extras?.rateLimit ?? null,
      quota: extras?.quota ?? null,
      planId: extras?.planId ?? null,
      expiresAt: this.#time(n),
      retiresAt: this.#time(n + 1),
      revokedAt: this.#time(n + 2),
    };
  }

  #time(at: number): number | null {
    const t = this.#numbers[at] ?? NO_TIME;
    return t === NO_TIME ? null : t;
  }

  /** The slot holding this hash, or -1. */
  #find(bytes: Uint8Array): number {
    const mask = this.#capacity - 1;
    const print = fingerprint(bytes);
    for (let i = start(bytes) & mask; ; i = (i + 1) & mask) {
      const entry = this.#slots[i * 2] ?? EMPTY;
      if (entry === EMPTY) return -1;
      if (entry > 0 && this.#slots[i * 2 + 1] === print && this.#sameHash(entry - 1, bytes)) return i;
    }
  }

  #insertSlot(row: number): void {
    const mask = this.#capacity - 1;
    const bytes = this.#rowBytes.subarray(row * ROW_BYTES, row * ROW_BYTES + HASH_BYTES);
    let i = start(bytes) & mask;
    while ((this.#slots[i * 2] ?? EMPTY) > 0) i = (i + 1) & mask;
    if (this.#slots[i * 2] === EMPTY) this.#used++;
    this.#slots[i * 2] = row + 1;
    this.#slots[i * 2 + 1] = fingerprint(bytes);
  }

  #sameHash(row: number, bytes: Uint8Array): boolean {
    const at = row * ROW_BYTES;
    for (let j = 0; j < HASH_BYTES; j++) if (this.#rowBytes[at + j] !== bytes[j]) return false;
    return true;
  }

  // Grows the slot table (or just clears tombstones at the same size).
  #rehash(capacity: number): void {
    const old = this.#slots;
    this.#capacity = capacity;
    this.#slots = new Int32Array(capacity * 2);
    this.#used = 0;
    for (let i = 0; i < old.length; i += 2) {
      const entry = old[i] ?? EMPTY;
      if (entry > 0) this.#insertSlot(entry - 1);
    }
  }

  #newRow(): number {
    const reused = this.#free.pop();
    if (reused !== undefined) return reused;
    const row = this.#rows++;
    if (row * ROW_BYTES >= this.#rowBytes.length) {
      const rows = new Uint8Array(this.#rowBytes.length * 2);
      rows.set(this.#rowBytes);
      this.#rowBytes = rows;
      this.#numbers = new Float64Array(rows.buffer);
    }
    return row;
  }

  #intern(s: string): string {
    const known = this.#interned.get(s);
    if (known !== undefined) return known;
    this.#interned.set(s, s);
    return s;
  }

  #shared(scopes: readonly string[]): readonly string[] {
    // Keys stored one after another (a snapshot load) mostly share their scopes: the last list
    // found is checked first, without building its lookup string.
    const last = this.#lastScopes;
    if (last !== null && sameStrings(last, scopes)) return last;
    const id = scopes.join('\n');
    let known = this.#scopeLists.get(id);
    if (!known) {
      known = Object.freeze([...scopes]);
      this.#scopeLists.set(id, known);
    }
    this.#lastScopes = known;
    return known;
  }
}

/** Index of the first of the two hot entries a hash may be kept in: from its first three hex digits. */
function hotSet(hash: string): number {
  // A digit that is not hex (nibble -1) still lands in range: such a hash is never found, so never kept.
  return (
    (((nibble(hash.charCodeAt(0)) << 8) | (nibble(hash.charCodeAt(1)) << 4) | nibble(hash.charCodeAt(2))) &
      HOT_SET_MASK) *
    2
  );
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isEmpty(o: Record<string, unknown>): boolean {
  for (const _ in o) return false;
  return true;
}

/** Bytes 4–7 of a hash as an int32: what a slot keeps to tell its key from others without reading its row. */
function fingerprint(bytes: Uint8Array): number {
  return (bytes[4] ?? 0) | ((bytes[5] ?? 0) << 8) | ((bytes[6] ?? 0) << 16) | ((bytes[7] ?? 0) << 24);
}

function start(bytes: Uint8Array): number {
  // SHA-256 is uniform: its first four bytes are as good a slot index as any hash of them.
  return ((bytes[0] ?? 0) | ((bytes[1] ?? 0) << 8) | ((bytes[2] ?? 0) << 16) | ((bytes[3] ?? 0) << 24)) >>> 0;
}

/** Parses 64 lower-case hex digits (as `hashKey` writes them) into `out`; false for anything else, like a `Map` would miss it. */
function toBytes(hex: string, out: Uint8Array): boolean {
  if (hex.length !== HASH_BYTES * 2) return false;
  for (let i = 0; i < HASH_BYTES; i++) {
    const hi = nibble(hex.charCodeAt(2 * i));
    const lo = nibble(hex.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return false;
    out[i] = (hi << 4) | lo;
  }
  return true;
}

/** The value of each lower-case hex digit by character code, -1 for every other code below 128. */
const NIBBLES = Int8Array.from({ length: 128 }, (_, c) =>
  c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1,
);

function nibble(c: number): number {
  return c < 128 ? (NIBBLES[c] ?? -1) : -1;
}
