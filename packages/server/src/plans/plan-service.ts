import { ApiError, type Clock, newId } from '@keyroll/core';
import {
  type Db,
  deletePlan,
  findPlan,
  findPlanIdByName,
  findPlanUser,
  insertPlan,
  listPlans,
  type Page,
  type PageRequest,
  type PlanChanges,
  type PlanRecord,
  type Store,
  updatePlan,
} from '@keyroll/storage';
import { type Actor, actorName } from '../shared/actor.js';
import { type QuotaView, quotaView, type RateLimitView, rateLimitView } from '../shared/records.js';
import { parseQuota, parseRateLimit, type QuotaInput, type RateLimitInput } from '../shared/validate.js';

/** Fields of a new plan. */
export interface PlanInput {
  name: string;
  rateLimit?: RateLimitInput | null | undefined;
  quota?: QuotaInput | null | undefined;
}

/** Fields a PATCH may change. */
export type PlanPatch = Partial<PlanInput>;

/** A plan as the API shows it. */
export interface PlanView {
  id: string;
  name: string;
  rateLimit: RateLimitView | null;
  quota: QuotaView | null;
  createdAt: string;
  updatedAt: string;
}

/** What a {@link PlanService} needs. */
export interface PlanServiceOptions {
  store: Store;
  clock: Clock;
}

function planView(plan: PlanRecord): PlanView {
  return {
    id: plan.id,
    name: plan.name,
    rateLimit: rateLimitView(plan.rateLimit),
    quota: quotaView(plan.quota),
    createdAt: new Date(plan.createdAt).toISOString(),
    updatedAt: new Date(plan.updatedAt).toISOString(),
  };
}

/** 404 unless the plan exists; `null` (no plan) always passes. For key and consumer writes. */
export async function assertPlanExists(db: Db, planId: string | null | undefined): Promise<void> {
  if (planId) await planOr404(db, planId, { field: 'planId' });
}

/** The plan; 404 when unknown. */
async function planOr404(db: Db, id: string, details?: Record<string, unknown>): Promise<PlanRecord> {
  const plan = await findPlan(db, id);
  if (!plan) throw new ApiError('NOT_FOUND', `plan ${id} not found`, details);
  return plan;
}

/** Plans: named rate limits and quotas that consumers and keys reference by `planId`. */
export class PlanService {
  readonly #store: Store;
  readonly #clock: Clock;

  constructor(options: PlanServiceOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
  }

  /** Creates a plan; 409 when its name is taken. */
  async create(actor: Actor, input: PlanInput): Promise<PlanView> {
    const now = this.#clock.now();
    const plan: PlanRecord = {
      id: newId('plan', now),
      name: input.name,
      rateLimit: input.rateLimit ? parseRateLimit(input.rateLimit) : null,
      quota: input.quota ? parseQuota(input.quota) : null,
      createdAt: now,
      updatedAt: now,
    };
    const view = planView(plan);
    await this.#store.mutate(async (tx) => {
      await this.#assertNameFree(tx.db, plan.name, null);
      await insertPlan(tx, plan, {
        at: now,
        actor: actorName(actor),
        data: { rateLimit: view.rateLimit, quota: view.quota },
      });
    });
    return view;
  }

  /** Lists plans, oldest first. */
  async list(page: PageRequest): Promise<Page<PlanView>> {
    const found = await listPlans(this.#store.db, page);
    return { ...found, data: found.data.map(planView) };
  }

  /** One plan; 404 when unknown. */
  async get(id: string): Promise<PlanView> {
    return planView(await planOr404(this.#store.db, id));
  }

  /** Changes a plan's name or limits; every consumer and key on it follows at once. */
  async update(actor: Actor, id: string, patch: PlanPatch): Promise<PlanView> {
    const now = this.#clock.now();
    const changes: PlanChanges = {
      ...(patch.name !== undefined && { name: patch.name }),
      ...(patch.rateLimit !== undefined && { rateLimit: patch.rateLimit ? parseRateLimit(patch.rateLimit) : null }),
      ...(patch.quota !== undefined && { quota: patch.quota ? parseQuota(patch.quota) : null }),
    };
    return this.#store.mutate(async (tx) => {
      const current = await planOr404(tx.db, id);
      if (patch.name !== undefined) await this.#assertNameFree(tx.db, patch.name, id);
      const updated = await updatePlan(tx, current, changes, {
        at: now,
        actor: actorName(actor),
        data: { fields: Object.keys(patch) },
      });
      return planView(updated);
    });
  }

  /** Deletes a plan; 409 while a live consumer or an unrevoked key is on it. */
  async delete(actor: Actor, id: string): Promise<void> {
    const now = this.#clock.now();
    await this.#store.mutate(async (tx) => {
      const current = await planOr404(tx.db, id);
      const user = await findPlanUser(tx.db, id);
      if (user) throw new ApiError('CONFLICT', `plan ${id} is still used by ${user}`, { usedBy: user });
      await deletePlan(tx, current, { at: now, actor: actorName(actor) });
    });
  }

  async #assertNameFree(db: Db, name: string, self: string | null): Promise<void> {
    const taken = await findPlanIdByName(db, name);
    if (taken !== undefined && taken !== self)
      throw new ApiError('CONFLICT', `plan name ${name} is already used by ${taken}`);
  }
}
