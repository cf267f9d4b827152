import { ApiError, type Clock, newId } from '@keyroll/core';
import type { PlansTable, Store } from '@keyroll/storage';
import { type Page, type PageRequest, pageById } from '@keyroll/storage';
import type { QuotaSpec } from '@keyroll/verifier/internal';
import { type Actor, actorName } from '../shared/actor.js';
import { type RateLimitView, rateLimitView } from '../shared/records.js';
import { parseRateLimit, type RateLimitInput } from '../shared/validate.js';

/** Fields of a new plan. */
export interface PlanInput {
  name: string;
  rateLimit?: RateLimitInput | null | undefined;
  quota?: QuotaSpec | null | undefined;
}

/** Fields a PATCH may change. */
export type PlanPatch = Partial<PlanInput>;

/** A plan as the API shows it. */
export interface PlanView {
  id: string;
  name: string;
  rateLimit: RateLimitView | null;
  quota: QuotaSpec | null;
  createdAt: string;
  updatedAt: string;
}

/** What a {@link PlanService} needs. */
export interface PlanServiceOptions {
  store: Store;
  clock: Clock;
}

function planView(row: PlansTable): PlanView {
  return {
    id: row.id,
    name: row.name,
    rateLimit: rateLimitView(row.rate_limit),
    quota: row.quota ? JSON.parse(row.quota) : null,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

/** 404 unless the plan exists; `null` (no plan) always passes. For key and consumer writes. */
export async function assertPlanExists(db: Store['db'], planId: string | null | undefined): Promise<void> {
  if (!planId) return;
  const row = await db.selectFrom('plans').select('id').where('id', '=', planId).executeTakeFirst();
  if (!row) throw new ApiError('NOT_FOUND', `plan ${planId} not found`, { field: 'planId' });
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
    const row: PlansTable = {
      id: newId('plan', now),
      name: input.name,
      rate_limit: input.rateLimit ? JSON.stringify(parseRateLimit(input.rateLimit)) : null,
      quota: input.quota ? JSON.stringify(input.quota) : null,
      created_at: now,
      updated_at: now,
    };
    await this.#store.mutate(async (tx) => {
      await this.#assertNameFree(tx.db, row.name, null);
      await tx.db.insertInto('plans').values(row).execute();
      await tx.change({ at: now, kind: 'plan.created', entityId: row.id });
      await tx.audit({
        at: now,
        actor: actorName(actor),
        action: 'plan.created',
        targetType: 'plan',
        targetId: row.id,
        data: { name: row.name, rateLimit: planView(row).rateLimit, quota: input.quota ?? null },
      });
    });
    return planView(row);
  }

  /** Lists plans, oldest first. */
  async list(page: PageRequest): Promise<Page<PlanView>> {
    return pageById(this.#store.db.selectFrom('plans').selectAll(), page, planView);
  }

  /** One plan; 404 when unknown. */
  async get(id: string): Promise<PlanView> {
    return planView(await this.#row(this.#store.db, id));
  }

  /** Changes a plan's name or limits; every consumer and key on it follows at once. */
  async update(actor: Actor, id: string, patch: PlanPatch): Promise<PlanView> {
    const now = this.#clock.now();
    const set: Partial<PlansTable> = {
      updated_at: now,
      ...(patch.name !== undefined && { name: patch.name }),
      ...(patch.rateLimit !== undefined && {
        rate_limit: patch.rateLimit ? JSON.stringify(parseRateLimit(patch.rateLimit)) : null,
      }),
      ...(patch.quota !== undefined && { quota: patch.quota ? JSON.stringify(patch.quota) : null }),
    };
    return this.#store.mutate(async (tx) => {
      const current = await this.#row(tx.db, id);
      if (patch.name !== undefined) await this.#assertNameFree(tx.db, patch.name, id);
      await tx.db.updateTable('plans').set(set).where('id', '=', id).execute();
      await tx.change({ at: now, kind: 'plan.updated', entityId: id });
      await tx.audit({
        at: now,
        actor: actorName(actor),
        action: 'plan.updated',
        targetType: 'plan',
        targetId: id,
        data: { fields: Object.keys(patch) },
      });
      return planView({ ...current, ...set });
    });
  }

  /** Deletes a plan; 409 while a live consumer or an unrevoked key is on it. */
  async delete(actor: Actor, id: string): Promise<void> {
    const now = this.#clock.now();
    await this.#store.mutate(async (tx) => {
      const current = await this.#row(tx.db, id);
      const consumer = await tx.db
        .selectFrom('consumers')
        .select('id')
        .where('plan_id', '=', id)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      const key = await tx.db
        .selectFrom('keys')
        .select('id')
        .where('plan_id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      const user = consumer?.id ?? key?.id;
      if (user) throw new ApiError('CONFLICT', `plan ${id} is still used by ${user}`, { usedBy: user });
      await tx.db.deleteFrom('plans').where('id', '=', id).execute();
      await tx.change({ at: now, kind: 'plan.deleted', entityId: id });
      await tx.audit({
        at: now,
        actor: actorName(actor),
        action: 'plan.deleted',
        targetType: 'plan',
        targetId: id,
        data: { name: current.name },
      });
    });
  }

  async #row(db: Store['db'], id: string): Promise<PlansTable> {
    const row = await db.selectFrom('plans').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new ApiError('NOT_FOUND', `plan ${id} not found`);
    return row;
  }

  async #assertNameFree(db: Store['db'], name: string, self: string | null): Promise<void> {
    const taken = await db.selectFrom('plans').select('id').where('name', '=', name).executeTakeFirst();
    if (taken && taken.id !== self) throw new ApiError('CONFLICT', `plan name ${name} is already used by ${taken.id}`);
  }
}
