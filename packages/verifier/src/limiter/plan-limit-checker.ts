import { checkCost } from '../cost.js';
import type { CachedKey } from '../key-record.js';
import type { LimitChecker, LimitOutcome, QuotaState, RateLimitState } from '../limits.js';
import { type Charge, chargesOf } from './limit-charges.js';
import type { ConsumerLimits, LimitSet, LimitSource, MaybePromise } from './limit-source.js';
import { hasRoom, type RateLimiter } from './rate-limiter.js';

/** What a {@link PlanLimitChecker} needs. */
export interface PlanLimitCheckerOptions {
  /** Where counters live: memory (node-local) or Redis (cluster-wide). */
  limiter: RateLimiter;
  /** Consumers' and plans' limits. */
  source: LimitSource;
}

/** The outcome when nothing limits a key: shared (frozen), as most keys have no limits at all. */
const UNLIMITED: LimitOutcome = Object.freeze({ allowed: true });

/** True when neither the owner nor its plan sets a rate limit or a quota. */
function unlimited(own: LimitSet, plan: LimitSet | null): boolean {
  return !own.rateLimit && !own.quota && !plan?.rateLimit && !plan?.quota;
}

/** A key's or consumer's own limits, each falling back to its plan's. */
function effective(own: LimitSet, plan: LimitSet | null): LimitSet {
  return { rateLimit: own.rateLimit ?? plan?.rateLimit ?? null, quota: own.quota ?? plan?.quota ?? null };
}

/**
 * Applies rate limits and quotas of a key and of its consumer, each set directly or inherited from
 * a plan (a key's own limit overrides its plan's; a key's counters are shared by its whole
 * lineage, predecessors and successors; the consumer's limits count all its keys together). All
 * counters are charged at once or not at all, so a rejected request consumes nothing.
 * @example
 * const limits = new PlanLimitChecker({ limiter: new MemoryRateLimiter(), source: new StorageLimitSource({ store }) });
 * const verifier = new Verifier({ lookup, limits });
 */
export class PlanLimitChecker implements LimitChecker {
  readonly #limiter: RateLimiter;
  readonly #source: LimitSource;

  constructor(options: PlanLimitCheckerOptions) {
    this.#limiter = options.limiter;
    this.#source = options.source;
  }

  /** Answers synchronously when every limit is known and none applies; reads or counts otherwise. */
  check(key: CachedKey, cost: number, now: number): MaybePromise<LimitOutcome> {
    checkCost(cost);
    const consumer = this.#source.consumer(key.consumerId);
    const keyPlan = key.planId ? this.#source.plan(key.planId) : null;
    if (consumer instanceof Promise || keyPlan instanceof Promise) {
      return Promise.all([consumer, keyPlan]).then(([c, p]) => this.#withConsumerPlan(key, c, p, cost, now));
    }
    return this.#withConsumerPlan(key, consumer, keyPlan, cost, now);
  }

  #withConsumerPlan(
    key: CachedKey,
    consumer: ConsumerLimits | null,
    keyPlan: LimitSet | null,
    cost: number,
    now: number,
  ): MaybePromise<LimitOutcome> {
    const consumerPlan = consumer?.planId ? this.#source.plan(consumer.planId) : null;
    // The common case, answered without building charges: nothing to count, so nothing to charge.
    if (
      !(consumerPlan instanceof Promise) &&
      unlimited(key, keyPlan) &&
      (!consumer || unlimited(consumer, consumerPlan))
    ) {
      return UNLIMITED;
    }
    const all = (plan: LimitSet | null) => [
      // Per lineage: a rotation (even a self-rotation in a loop) must not start the key's counters afresh.
      ...chargesOf(key.lineageId, key.consumerId, effective(key, keyPlan), cost, now),
      ...(consumer ? chargesOf(key.consumerId, key.consumerId, effective(consumer, plan), cost, now) : []),
    ];
    return consumerPlan instanceof Promise
      ? consumerPlan.then((plan) => this.#charge(all(plan), now))
      : this.#charge(all(consumerPlan), now);
  }

  #charge(all: Charge[], now: number): MaybePromise<LimitOutcome> {
    if (all.length === 0) return UNLIMITED;
    return this.#limiter
      .consume(
        all.map((c) => c.counter),
        now,
      )
      .then(({ allowed, used }) => outcome(all, allowed, used, now));
  }
}

/** The limit states to report, and on a refusal the code and when to retry. */
function outcome(all: Charge[], allowed: boolean, used: number[], now: number): LimitOutcome {
  const rated = all.map((c, i) => ({ ...c, used: used[i] ?? 0 }));
  const ratelimit = tightest(rated.filter((c) => c.kind === 'rate'));
  const quota = tightest(rated.filter((c) => c.kind === 'quota'));
  const states = {
    ...(ratelimit && { ratelimit: rateState(ratelimit, now) }),
    ...(quota && { quota: quotaState(quota) }),
  };
  if (allowed) return { allowed: true, ...states };
  const blocking = rated.filter((c) => !hasRoom(c.used, c.counter.limit, c.counter.cost));
  return {
    allowed: false,
    code: blocking.some((c) => c.kind === 'quota') ? 'QUOTA_EXCEEDED' : 'RATE_LIMITED',
    retryAfterMs: Math.max(0, ...blocking.map((c) => c.retryAt(c.used) - now)),
    ...states,
  };
}

type Rated = Charge & { used: number };

/** The counter with the least room left: the one a client should pace itself by. */
function tightest(counters: Rated[]): Rated | undefined {
  let best: Rated | undefined;
  for (const c of counters) if (!best || c.counter.limit - c.used < best.counter.limit - best.used) best = c;
  return best;
}

function rateState(c: Rated, now: number): RateLimitState {
  return {
    limit: c.counter.limit,
    remaining: Math.max(0, c.counter.limit - c.used),
    resetMs: c.nextAt - now,
  };
}

function quotaState(c: Rated): QuotaState {
  return {
    limit: c.counter.limit,
    remaining: Math.max(0, c.counter.limit - c.used),
    resetsAt: c.nextAt,
    ...(c.refill && { refill: c.refill }),
  };
}
