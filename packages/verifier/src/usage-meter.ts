import type { VerifyCode } from '@keyroll/core';
import { recordUsage, type Store, type UsageCount } from '@keyroll/storage';
import type { VerificationEvent, VerificationObserver } from './observer.js';

/** Length of a usage bucket. */
export const USAGE_BUCKET_MS = 60_000;

/** What a {@link UsageMeter} needs. */
export interface UsageMeterOptions {
  store: Store;
  /** How often counts are written; at most this much usage is lost by a crash (default 1 s). */
  flushIntervalMs?: number;
}

type Bucket = UsageCount & { code: VerifyCode };

/**
 * Counts verifications per key, minute and outcome in memory and writes them in batches; a clean
 * shutdown ({@link UsageMeter.close}) flushes what is left, so counts are exact after a flush.
 */
export class UsageMeter implements VerificationObserver {
  readonly readsDuration = false;
  readonly #store: Store;
  #buckets = new Map<string, Bucket>();
  /** When each key was last used (boxed, so that a later use updates it in place). */
  #lastUsed = new Map<string, { at: number }>();
  /** The minute of the last verification counted (computed again only when a verification falls outside it). */
  #minute = 0;
  /** The bucket each key counted into last (every one held in `#buckets`): spares building the bucket's id while it stays the same. */
  #recent = new Map<string, Bucket>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(options: UsageMeterOptions) {
    this.#store = options.store;
    const interval = options.flushIntervalMs ?? 1000;
    if (interval > 0) {
      this.#timer = setInterval(() => void this.flush().catch(() => undefined), interval);
      this.#timer.unref();
    }
  }

  observe(e: VerificationEvent): void {
    if (e.keyId === null || e.consumerId === null) return;
    let minute = this.#minute;
    if (e.at < minute || e.at >= minute + USAGE_BUCKET_MS) this.#minute = minute = e.at - (e.at % USAGE_BUCKET_MS);
    const recent = this.#recent.get(e.keyId);
    if (recent !== undefined && recent.minute === minute && recent.code === e.code) recent.count++;
    else {
      const id = `${e.keyId}|${minute}|${e.code}`;
      let bucket = this.#buckets.get(id);
      if (bucket) bucket.count++;
      else {
        bucket = { keyId: e.keyId, consumerId: e.consumerId, minute, code: e.code, count: 1 };
        this.#buckets.set(id, bucket);
      }
      this.#recent.set(e.keyId, bucket);
    }
    if (e.code === 'VALID') {
      const used = this.#lastUsed.get(e.keyId);
      if (used === undefined) this.#lastUsed.set(e.keyId, { at: e.at });
      else if (used.at < e.at) used.at = e.at;
    }
  }

  /** Writes the counts gathered so far; concurrent calls run one after another. */
  flush(): Promise<void> {
    // A failed flush must not block the ones after it (its counts were put back for them).
    this.#flushing = this.#flushing.catch(() => undefined).then(() => this.#flushNow());
    return this.#flushing;
  }

  async #flushNow(): Promise<void> {
    // Rows are written in one fixed order so that nodes flushing at once cannot deadlock each other.
    const buckets = [...this.#buckets.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, b]) => b);
    const lastUsed = [...this.#lastUsed.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([keyId, used]): [string, number] => [keyId, used.at]);
    if (buckets.length === 0 && lastUsed.length === 0) return;
    this.#buckets = new Map();
    this.#lastUsed = new Map();
    this.#recent = new Map();
    try {
      await recordUsage(this.#store.db, buckets, lastUsed);
    } catch (e) {
      // Storage is away: keep the counts for the next flush rather than lose them.
      for (const b of buckets) {
        const id = `${b.keyId}|${b.minute}|${b.code}`;
        const cur = this.#buckets.get(id);
        if (cur) cur.count += b.count;
        else this.#buckets.set(id, b);
      }
      for (const [k, at] of lastUsed) {
        const used = this.#lastUsed.get(k);
        if (used === undefined) this.#lastUsed.set(k, { at });
        else if (used.at < at) used.at = at;
      }
      throw e;
    }
  }

  /** Stops the timer and flushes what is left. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.flush();
  }
}
