import { createPublicKey, type KeyObject } from 'node:crypto';
import { ApiError, type Clock } from '@keyroll/core';

/** GitHub's secret-scanning public keys, the default of `KEYROLL_GITHUB_KEYS_URL`. */
export const GITHUB_KEYS_URL = 'https://api.github.com/meta/public_keys/secret_scanning';

/** Least time between two fetches of the key list, so that unknown identifiers cannot make keyroll hammer GitHub. */
export const REFETCH_INTERVAL_MS = 10_000;

/** Longest key list accepted, in bytes (GitHub's is a few kilobytes). */
const MAX_LIST_BYTES = 256 * 1024;

/** What a {@link GithubPublicKeys} needs. */
export interface GithubPublicKeysOptions {
  /** Where the list `{public_keys: [{key_identifier, key, is_current}]}` is fetched from. */
  url: string;
  clock: Clock;
  /** Time-out of one fetch, in ms (default 5,000). */
  timeoutMs?: number | undefined;
}

/**
 * GitHub's signing keys by identifier: fetched on first use, cached, and fetched again when a
 * signature names an identifier the cache does not know — at most once per {@link REFETCH_INTERVAL_MS}
 * (concurrent requests share one fetch). Non-current keys verify too: GitHub signs with them while
 * it rotates its own keys.
 */
export class GithubPublicKeys {
  readonly #o: GithubPublicKeysOptions;
  #keys = new Map<string, KeyObject>();
  #fetchedAt: number | null = null;
  #inflight: Promise<void> | null = null;

  constructor(options: GithubPublicKeysOptions) {
    this.#o = options;
  }

  /** The public key named `identifier`, or `null` when GitHub lists no such key. */
  async key(identifier: string): Promise<KeyObject | null> {
    const cached = this.#keys.get(identifier);
    if (cached) return cached;
    const now = this.#o.clock.now();
    if (this.#inflight) await this.#inflight;
    else if (this.#fetchedAt === null || now - this.#fetchedAt >= REFETCH_INTERVAL_MS) {
      this.#fetchedAt = now;
      this.#inflight = this.#refresh().finally(() => {
        this.#inflight = null;
      });
      await this.#inflight;
    }
    return this.#keys.get(identifier) ?? null;
  }

  async #refresh(): Promise<void> {
    let text: string;
    try {
      const res = await fetch(this.#o.url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.#o.timeoutMs ?? 5_000),
        redirect: 'error',
      });
      if (!res.ok) throw new Error(`status ${res.status}`);
      text = await res.text();
      if (text.length > MAX_LIST_BYTES) throw new Error('the key list is too large');
    } catch (e) {
      // Fail closed: no key, no verification. The keys cached so far stay usable.
      throw new ApiError('UNAVAILABLE', 'the GitHub public keys cannot be fetched', {
        reason: 'github_keys_unreachable',
        error: e instanceof Error ? e.message : String(e),
      });
    }
    this.#keys = new Map([...this.#keys, ...parseKeyList(text)]);
  }
}

/** The keys of a GitHub public-key list; entries that are not PEM keys are skipped. */
export function parseKeyList(text: string): Map<string, KeyObject> {
  const out = new Map<string, KeyObject>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return out;
  }
  const list = (parsed as { public_keys?: unknown } | null)?.public_keys;
  if (!Array.isArray(list)) return out;
  for (const entry of list) {
    const { key_identifier: id, key } = (entry ?? {}) as { key_identifier?: unknown; key?: unknown };
    if (typeof id !== 'string' || typeof key !== 'string' || id.length === 0 || id.length > 256) continue;
    try {
      const object = createPublicKey(key);
      if (object.asymmetricKeyType === 'ec') out.set(id, object);
    } catch {
      // Not a PEM public key: GitHub never sends one, and it verifies nothing.
    }
  }
  return out;
}
