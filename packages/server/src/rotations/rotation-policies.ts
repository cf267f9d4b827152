import { ApiError, type Clock, formatDuration, newId, type OnReuse } from '@keyroll/core';
import {
  type Db,
  deleteRotationPolicy,
  findLiveConsumer,
  findRotationPolicy,
  listRotationPolicies,
  type RotationPolicyRecord,
  type Store,
  saveRotationPolicy,
} from '@keyroll/storage';
import { ROOT_CONSUMER_ID } from '../consumers/consumer-service.js';
import { type Actor, actorName } from '../shared/actor.js';
import { type RetireSpec, type RetireView, retireRule, retireView } from './rotation-retire.js';

/** The target of the policy that applies to every consumer without its own. */
export const DEFAULT_POLICY_TARGET = 'default';

/** A rotation policy as set by an operator, durations in ms. */
export interface RotationPolicyInput {
  everyMs: number;
  graceMs: number;
  retire?: RetireSpec | undefined;
  notifyBeforeMs?: number | null | undefined;
  onReuse?: OnReuse | undefined;
}

/** A rotation policy as the API shows it. */
export interface RotationPolicyView {
  id: string;
  /** `default` or the consumer's id. */
  target: string;
  consumerId: string | null;
  every: string;
  gracePeriod: string;
  retire: RetireView;
  notifyBefore: string | null;
  onReuse: OnReuse;
  createdAt: string;
  updatedAt: string;
}

/** What a {@link RotationPolicyService} needs. */
export interface RotationPolicyServiceOptions {
  store: Store;
  clock: Clock;
  /** The scheduler's period in ms: a policy's grace must span {@link MIN_GRACE_INTERVALS} of them. */
  schedulerIntervalMs: number;
}

/** Scheduler intervals a policy's grace period must span, so that a tick always comes before the claim-by date. */
export const MIN_GRACE_INTERVALS = 3;

/** The reuse reaction of a policy (`reject` without one). */
export function onReuseOf(policy: Pick<RotationPolicyRecord, 'onReuse'> | null): OnReuse {
  return policy?.onReuse ?? 'reject';
}

/** The API view of a policy. */
export function policyView(policy: RotationPolicyRecord): RotationPolicyView {
  return {
    id: policy.id,
    target: policy.target,
    consumerId: policy.consumerId,
    every: formatDuration(policy.everyMs),
    gracePeriod: formatDuration(policy.graceMs),
    retire: retireView(policy.retire),
    notifyBefore: policy.notifyBeforeMs === null ? null : formatDuration(policy.notifyBeforeMs),
    onReuse: onReuseOf(policy),
    createdAt: new Date(policy.createdAt).toISOString(),
    updatedAt: new Date(policy.updatedAt).toISOString(),
  };
}

/** Rotation policies: per consumer, or a default for every consumer without its own (never the root consumer). */
export class RotationPolicyService {
  readonly #o: RotationPolicyServiceOptions;

  constructor(options: RotationPolicyServiceOptions) {
    this.#o = options;
  }

  /** Sets the policy of `target` (`default` or a consumer id), replacing any. */
  async put(actor: Actor, target: string, input: RotationPolicyInput): Promise<RotationPolicyView> {
    const now = this.#o.clock.now();
    if (input.everyMs <= 0) throw new ApiError('VALIDATION_FAILED', 'every: must be longer than 0', { field: 'every' });
    this.#assertMayChange(actor, target);
    const minGraceMs = Math.max(1, MIN_GRACE_INTERVALS * this.#o.schedulerIntervalMs);
    if (input.graceMs < minGraceMs) {
      throw new ApiError(
        'VALIDATION_FAILED',
        `gracePeriod: a policy needs a grace period of at least ${formatDuration(minGraceMs)} (${MIN_GRACE_INTERVALS} scheduler intervals)`,
        { field: 'gracePeriod', min: formatDuration(minGraceMs) },
      );
    }
    if (input.notifyBeforeMs != null && input.notifyBeforeMs >= input.everyMs) {
      throw new ApiError('VALIDATION_FAILED', 'notifyBefore: must be shorter than every', { field: 'notifyBefore' });
    }
    const rule = retireRule(input.retire, input.graceMs);
    const consumerId = target === DEFAULT_POLICY_TARGET ? null : target;
    return this.#o.store.mutate(async (tx) => {
      if (consumerId !== null) {
        if (!(await findLiveConsumer(tx.db, consumerId)))
          throw new ApiError('NOT_FOUND', `consumer ${consumerId} not found`);
      }
      const existing = await findRotationPolicy(tx.db, target);
      const policy: RotationPolicyRecord = {
        id: existing?.id ?? newId('policy', now),
        target,
        consumerId,
        everyMs: input.everyMs,
        graceMs: input.graceMs,
        retire: rule,
        notifyBeforeMs: input.notifyBeforeMs ?? null,
        onReuse: input.onReuse ?? 'reject',
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      };
      await saveRotationPolicy(tx, policy, existing !== undefined, { at: now, actor: actorName(actor) });
      return policyView(policy);
    });
  }

  /** Removes the policy of `target`; 404 when there is none. */
  async remove(actor: Actor, target: string): Promise<void> {
    const now = this.#o.clock.now();
    this.#assertMayChange(actor, target);
    await this.#o.store.mutate(async (tx) => {
      const existing = await findRotationPolicy(tx.db, target);
      if (!existing) throw new ApiError('NOT_FOUND', `no rotation policy for ${target}`);
      await deleteRotationPolicy(tx, existing, { at: now, actor: actorName(actor) });
    });
  }

  /** 403 unless the actor holds `*` when the target is the root consumer: its policy rotates every root key. */
  #assertMayChange(actor: Actor, target: string): void {
    if (target === ROOT_CONSUMER_ID && !actor.scopes.includes('*')) {
      throw new ApiError('FORBIDDEN', 'changing the rotation policy of the root consumer needs a root key with *', {
        requiredScope: '*',
      });
    }
  }

  /** The policy of `target`; 404 when there is none. */
  async get(target: string): Promise<RotationPolicyView> {
    const policy = await findRotationPolicy(this.#o.store.db, target);
    if (!policy) throw new ApiError('NOT_FOUND', `no rotation policy for ${target}`);
    return policyView(policy);
  }

  /** Every policy, the default first. */
  async list(): Promise<RotationPolicyView[]> {
    const policies = await listRotationPolicies(this.#o.store.db);
    return policies
      .sort((a, b) => Number(b.target === DEFAULT_POLICY_TARGET) - Number(a.target === DEFAULT_POLICY_TARGET))
      .map(policyView);
  }

  /** The policy that applies to a consumer: its own, else the default (the root consumer has no default). */
  async effective(db: Db, consumerId: string): Promise<RotationPolicyRecord | null> {
    const own = await findRotationPolicy(db, consumerId);
    if (own) return own;
    if (consumerId === ROOT_CONSUMER_ID) return null;
    return (await findRotationPolicy(db, DEFAULT_POLICY_TARGET)) ?? null;
  }
}
