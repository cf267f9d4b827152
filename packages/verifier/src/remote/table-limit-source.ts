import type { ConsumerLimits, LimitSet, LimitSource } from '../limiter/limit-source.js';
import type { EdgeConsumer, EdgePlan } from './data-plane-wire.js';

/** Consumers' and plans' limits as an edge holds them: every one, in memory, answered synchronously. */
export class TableLimitSource implements LimitSource {
  #consumers = new Map<string, ConsumerLimits>();
  #plans = new Map<string, LimitSet>();

  consumer(id: string): ConsumerLimits | null {
    return this.#consumers.get(id) ?? null;
  }

  plan(id: string): LimitSet | null {
    return this.#plans.get(id) ?? null;
  }

  /** Stores a consumer's limits, or forgets the consumer (`null`: deleted). */
  setConsumer(id: string, c: EdgeConsumer | null): void {
    if (c) this.#consumers.set(id, { planId: c.planId, rateLimit: c.rateLimit, quota: c.quota });
    else this.#consumers.delete(id);
  }

  /** Stores a plan's limits, or forgets the plan (`null`: deleted). */
  setPlan(id: string, p: EdgePlan | null): void {
    if (p) this.#plans.set(id, { rateLimit: p.rateLimit, quota: p.quota });
    else this.#plans.delete(id);
  }

  /** Replaces everything at once (a snapshot reload). */
  replaceAll(consumers: EdgeConsumer[], plans: EdgePlan[]): void {
    this.#consumers = new Map(
      consumers.map((c) => [c.id, { planId: c.planId, rateLimit: c.rateLimit, quota: c.quota }]),
    );
    this.#plans = new Map(plans.map((p) => [p.id, { rateLimit: p.rateLimit, quota: p.quota }]));
  }
}
