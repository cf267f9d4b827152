import type { VerificationEvent, VerificationObserver } from '@keyroll/verifier';

/** Uses of one retired or revoked key seen by this node since the alert evaluator last took them. */
export interface RetiredKeySighting {
  keyId: string;
  consumerId: string;
  code: 'RETIRED' | 'REVOKED';
  /** Requests seen on this node. */
  count: number;
  firstAt: number;
  lastAt: number;
  /** The source address of the latest request, when the verifier was told one. */
  address: string | null;
}

/** What a {@link RetiredKeySightings} needs. */
export interface RetiredKeySightingsOptions {
  /** Distinct keys remembered between two evaluations; the rest are left to the per-minute rule (default 10,000). */
  maxKeys?: number;
}

/**
 * Notes every refusal of a known key as `RETIRED` or `REVOKED` (someone holding a leaked or
 * abandoned key), so that the alert evaluator raises `retired_key_used` on its next round instead
 * of waiting for the minute's usage counts to settle. One entry per key and code, bounded in number.
 */
export class RetiredKeySightings implements VerificationObserver {
  readonly #maxKeys: number;
  #seen = new Map<string, RetiredKeySighting>();

  constructor(options: RetiredKeySightingsOptions = {}) {
    this.#maxKeys = options.maxKeys ?? 10_000;
  }

  observe(e: VerificationEvent): void {
    if ((e.code !== 'RETIRED' && e.code !== 'REVOKED') || e.keyId === null || e.consumerId === null) return;
    const id = `${e.keyId}:${e.code}`;
    const seen = this.#seen.get(id);
    if (seen) {
      seen.count++;
      seen.lastAt = Math.max(seen.lastAt, e.at);
      seen.address = e.ip ?? seen.address;
    } else if (this.#seen.size < this.#maxKeys) {
      this.#seen.set(id, {
        keyId: e.keyId,
        consumerId: e.consumerId,
        code: e.code,
        count: 1,
        firstAt: e.at,
        lastAt: e.at,
        address: e.ip ?? null,
      });
    }
  }

  /** True when uses are waiting to be judged. */
  get pending(): boolean {
    return this.#seen.size > 0;
  }

  /** Hands over the uses seen so far and forgets them. */
  take(): RetiredKeySighting[] {
    const taken = [...this.#seen.values()];
    this.#seen = new Map();
    return taken;
  }

  /** Puts back uses that could not be judged (storage refused the evaluation), merged with newer ones. */
  restore(sightings: readonly RetiredKeySighting[]): void {
    for (const s of sightings) {
      const id = `${s.keyId}:${s.code}`;
      const newer = this.#seen.get(id);
      if (newer) {
        newer.count += s.count;
        newer.firstAt = Math.min(newer.firstAt, s.firstAt);
      } else if (this.#seen.size < this.#maxKeys) {
        this.#seen.set(id, { ...s });
      }
    }
  }
}
