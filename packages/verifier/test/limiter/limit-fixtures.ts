import type { CachedKey, ConsumerLimits, LimitSet, LimitSource } from '@keyroll/verifier/internal';

/** A limit source over plain maps: the consumers and plans a test sets up. */
export class MapLimitSource implements LimitSource {
  readonly consumers = new Map<string, ConsumerLimits>();
  readonly plans = new Map<string, LimitSet>();

  consumer(id: string): ConsumerLimits | null {
    return this.consumers.get(id) ?? null;
  }

  plan(id: string): LimitSet | null {
    return this.plans.get(id) ?? null;
  }
}

/** A valid cached key of consumer `consumerId` with the given limits. */
export function keyOf(id: string, consumerId: string, limits: Partial<CachedKey> = {}): CachedKey {
  return {
    id,
    consumerId,
    hash: `hash-${id}`,
    name: 'default',
    version: 1,
    lineageId: id,
    scopes: [],
    metadata: {},
    allowedRanges: null,
    rateLimit: null,
    quota: null,
    planId: null,
    expiresAt: null,
    retiresAt: null,
    revokedAt: null,
    ...limits,
  };
}

/** A consumer with no limits of its own and no plan. */
export const NO_LIMITS: ConsumerLimits = { rateLimit: null, quota: null, planId: null };
