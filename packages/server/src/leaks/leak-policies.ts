import { ApiError, type Clock, formatDuration } from '@keyroll/core';
import {
  deleteLeakPolicy,
  type LeakPoliciesTable,
  leakPolicies,
  leakPolicy,
  putLeakPolicy,
  type Store,
} from '@keyroll/storage';
import { assertLiveConsumer } from '../consumers/consumer-service.js';
import { type Actor, actorName } from '../shared/actor.js';
import { iso } from '../shared/records.js';

/** What a reported leak does to the key: revoke it now, roll it over, or only tell. */
export type LeakAction = 'revoke' | 'rollover' | 'notify';

/** Every leak action. */
export const LEAK_ACTIONS: readonly LeakAction[] = ['revoke', 'rollover', 'notify'];

/** The target of the policy every consumer without its own follows. */
export const DEFAULT_LEAK_TARGET = 'default';

/** The policy when none is stored: roll over with 15 minutes of grace. */
export const BUILT_IN_LEAK_POLICY = { action: 'rollover' as LeakAction, graceMs: 15 * 60_000 };

/** Longest grace a rollover policy may give a leaked key. */
export const MAX_LEAK_GRACE_MS = 7 * 86_400_000;

/** A leak policy as the API shows it. */
export interface LeakPolicyView {
  target: string;
  consumerId: string | null;
  action: LeakAction;
  gracePeriod: string;
  /** `true` for the built-in default (nothing stored). */
  builtIn: boolean;
  createdAt: string | null;
  updatedAt: string | null;
}

/** The effective policy of a consumer: its own, else the stored default, else the built-in one. */
export interface EffectiveLeakPolicy {
  action: LeakAction;
  graceMs: number;
  target: string;
}

function actionOf(value: string): LeakAction {
  return (LEAK_ACTIONS as readonly string[]).includes(value) ? (value as LeakAction) : 'rollover';
}

function view(row: LeakPoliciesTable): LeakPolicyView {
  return {
    target: row.target,
    consumerId: row.consumer_id,
    action: actionOf(row.action),
    gracePeriod: formatDuration(row.grace_ms),
    builtIn: false,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** Leak policies per consumer and by default (`PUT/GET/DELETE /v1/leak-policies/{consumerId|default}`). */
export class LeakPolicyService {
  readonly #store: Store;
  readonly #clock: Clock;

  constructor(options: { store: Store; clock: Clock }) {
    this.#store = options.store;
    this.#clock = options.clock;
  }

  /** Sets the policy of a consumer or the default; `graceMs` only for `rollover` (default 15 minutes). */
  async put(actor: Actor, target: string, action: LeakAction, graceMs: number | undefined): Promise<LeakPolicyView> {
    if (graceMs !== undefined && action !== 'rollover') {
      throw new ApiError('VALIDATION_FAILED', 'gracePeriod: only a rollover policy has a grace period', {
        field: 'gracePeriod',
      });
    }
    const grace = action === 'rollover' ? (graceMs ?? BUILT_IN_LEAK_POLICY.graceMs) : 0;
    if (action === 'rollover' && (grace <= 0 || grace > MAX_LEAK_GRACE_MS)) {
      throw new ApiError(
        'VALIDATION_FAILED',
        `gracePeriod: more than 0 and at most ${formatDuration(MAX_LEAK_GRACE_MS)} (use action "revoke" for none)`,
        { field: 'gracePeriod' },
      );
    }
    const now = this.#clock.now();
    return this.#store.mutate(async (tx) => {
      if (target !== DEFAULT_LEAK_TARGET) await assertLiveConsumer(tx.db, target);
      const before = await leakPolicy(tx.db, target);
      const row: LeakPoliciesTable = {
        target,
        consumer_id: target === DEFAULT_LEAK_TARGET ? null : target,
        action,
        grace_ms: grace,
        created_at: before?.created_at ?? now,
        updated_at: now,
      };
      await putLeakPolicy(tx.db, row);
      await tx.audit({
        at: now,
        actor: actorName(actor),
        action: 'leak_policy.updated',
        targetType: 'leak_policy',
        targetId: target,
        data: { consumerId: row.consumer_id, action, gracePeriodMs: grace },
      });
      return view(row);
    });
  }

  /** The policy of a target; the default falls back to the built-in one, a consumer without one is 404. */
  async get(target: string): Promise<LeakPolicyView> {
    const row = await leakPolicy(this.#store.db, target);
    if (row) return view(row);
    if (target === DEFAULT_LEAK_TARGET) {
      return {
        target,
        consumerId: null,
        action: BUILT_IN_LEAK_POLICY.action,
        gracePeriod: formatDuration(BUILT_IN_LEAK_POLICY.graceMs),
        builtIn: true,
        createdAt: null,
        updatedAt: null,
      };
    }
    throw new ApiError('NOT_FOUND', `no leak policy for ${target}`);
  }

  /** Every stored policy. */
  async list(): Promise<LeakPolicyView[]> {
    return (await leakPolicies(this.#store.db)).map(view);
  }

  /** Removes a stored policy (the consumer then follows the default); 404 when there is none. */
  async remove(actor: Actor, target: string): Promise<void> {
    const now = this.#clock.now();
    await this.#store.mutate(async (tx) => {
      if (!(await deleteLeakPolicy(tx.db, target))) throw new ApiError('NOT_FOUND', `no leak policy for ${target}`);
      await tx.audit({
        at: now,
        actor: actorName(actor),
        action: 'leak_policy.deleted',
        targetType: 'leak_policy',
        targetId: target,
        data: { consumerId: target === DEFAULT_LEAK_TARGET ? null : target },
      });
    });
  }

  /** The policy a leak of `consumerId`'s key follows, read inside the reporting transaction. */
  async effective(db: Store['db'], consumerId: string): Promise<EffectiveLeakPolicy> {
    const row = (await leakPolicy(db, consumerId)) ?? (await leakPolicy(db, DEFAULT_LEAK_TARGET));
    if (!row) return { ...BUILT_IN_LEAK_POLICY, target: 'built-in' };
    return { action: actionOf(row.action), graceMs: row.grace_ms, target: row.target };
  }
}
