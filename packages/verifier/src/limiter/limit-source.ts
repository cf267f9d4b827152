import { ApiError } from '@keyroll/core';
import { findLiveConsumer, findPlan, type Store } from '@keyroll/storage';
import { type ChangeRecord, FEED_RESET } from '../change-feed.js';
import type { QuotaSpec, RateLimitSpec } from '../key-record.js';

/** A rate limit and a quota, either of which may be unset. */
export interface LimitSet {
  rateLimit: RateLimitSpec | null;
  quota: QuotaSpec | null;
}

/** A consumer's own limits and the plan it is on. */
export interface ConsumerLimits extends LimitSet {
  planId: string | null;
}

/** A value, or a promise of it when it has to be read first. */
export type MaybePromise<T> = T | Promise<T>;

/** Where a limit checker finds consumers' and plans' limits (keys bring their own); answers from memory synchronously. */
export interface LimitSource {
  /** The consumer's limits; `null` when it does not exist. */
  consumer(id: string): MaybePromise<ConsumerLimits | null>;
  /** The plan's limits; `null` when it does not exist. */
  plan(id: string): MaybePromise<LimitSet | null>;
}

/** What a {@link StorageLimitSource} needs. */
export interface StorageLimitSourceOptions {
  store: Store;
  /** Most consumers and plans kept in memory, each (default 100,000). */
  maxEntries?: number;
}

/**
 * Reads consumers' and plans' limits from storage and keeps them in memory until a change to that
 * consumer or plan arrives through {@link StorageLimitSource.applyChange} (wired to the change feed).
 * Once read, limits keep applying while storage is away; a read that fails is a 503 `UNAVAILABLE`.
 */
export class StorageLimitSource implements LimitSource {
  readonly #store: Store;
  readonly #max: number;
  readonly #consumers = new Map<string, ConsumerLimits | null>();
  readonly #plans = new Map<string, LimitSet | null>();
  /** Bumped by every change, so a load that raced with a change is not cached. */
  #generation = 0;

  constructor(options: StorageLimitSourceOptions) {
    this.#store = options.store;
    this.#max = options.maxEntries ?? 100_000;
  }

  consumer(id: string): MaybePromise<ConsumerLimits | null> {
    return this.#cached(this.#consumers, id, async () => {
      const consumer = await findLiveConsumer(this.#store.db, id);
      return consumer ? { rateLimit: consumer.rateLimit, quota: consumer.quota, planId: consumer.planId } : null;
    });
  }

  plan(id: string): MaybePromise<LimitSet | null> {
    return this.#cached(this.#plans, id, async () => {
      const plan = await findPlan(this.#store.db, id);
      return plan ? { rateLimit: plan.rateLimit, quota: plan.quota } : null;
    });
  }

  /** Forgets what a change-log entry (`consumer.*`, `plan.*`, all on `feed.reset`) made stale; other kinds are ignored. */
  applyChange(change: Pick<ChangeRecord, 'kind' | 'entityId'>): void {
    switch (change.kind) {
      case FEED_RESET:
        this.#generation++;
        this.#consumers.clear();
        this.#plans.clear();
        return;
      case 'consumer.created':
      case 'consumer.updated':
      case 'consumer.deleted':
        this.#forget(this.#consumers, change.entityId);
        return;
      case 'plan.created':
      case 'plan.updated':
      case 'plan.deleted':
        this.#forget(this.#plans, change.entityId);
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
      case 'rotation.reminder':
      case 'rotation_policy.set':
      case 'rotation_policy.deleted':
        return; // a key row holds its own limits; the key cache follows these
      default:
        change.kind satisfies never; // a new kind must be handled above (a newer node's is ignored)
    }
  }

  #forget<T>(map: Map<string, T>, id: string): void {
    this.#generation++;
    map.delete(id);
  }

  #cached<T>(map: Map<string, T | null>, id: string, load: () => Promise<T | null>): MaybePromise<T | null> {
    const hit = map.get(id);
    return hit !== undefined ? hit : this.#fill(map, id, load);
  }

  async #fill<T>(map: Map<string, T | null>, id: string, load: () => Promise<T | null>): Promise<T | null> {
    const generation = this.#generation;
    let value: T | null;
    try {
      value = await load();
    } catch {
      // Like a key-cache miss: "cannot tell" (503), never "no limits".
      throw new ApiError('UNAVAILABLE', 'limits cannot be read: storage is unreachable', { reason: 'storage_error' });
    }
    if (generation === this.#generation) {
      if (map.size >= this.#max) {
        const oldest = map.keys().next();
        if (!oldest.done) map.delete(oldest.value);
      }
      map.set(id, value);
    }
    return value;
  }
}
