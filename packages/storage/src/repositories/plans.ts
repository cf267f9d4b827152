import type { Page, PageRequest } from '../pagination.js';
import { pageById } from '../pagination.js';
import type { PlansTable } from '../schema.js';
import type { Db, Tx } from '../store.js';
import { readJsonOrNull, writeJsonOrNull } from './json-columns.js';
import type { QuotaSpec, RateLimitSpec } from './limit-specs.js';
import { recordWrite, type WriteEvent } from './write-event.js';

/** A stored plan with its JSON columns decoded: a named rate limit and quota. */
export interface PlanRecord {
  id: string;
  name: string;
  rateLimit: RateLimitSpec | null;
  quota: QuotaSpec | null;
  /** Epoch ms. */
  createdAt: number;
  updatedAt: number;
}

/** The fields of a plan that an update may change. */
export type PlanChanges = Partial<Pick<PlanRecord, 'name' | 'rateLimit' | 'quota'>>;

/** Decodes a `plans` row. */
export function decodePlan(row: PlansTable): PlanRecord {
  return {
    id: row.id,
    name: row.name,
    rateLimit: readJsonOrNull(row.rate_limit),
    quota: readJsonOrNull(row.quota),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The plan with this id, or `undefined`. */
export async function findPlan(db: Db, id: string): Promise<PlanRecord | undefined> {
  const row = await db.selectFrom('plans').selectAll().where('id', '=', id).executeTakeFirst();
  return row && decodePlan(row);
}

/** The id of the plan with this name, or `undefined`. */
export async function findPlanIdByName(db: Db, name: string): Promise<string | undefined> {
  const row = await db.selectFrom('plans').select('id').where('name', '=', name).executeTakeFirst();
  return row?.id;
}

/** One page of plans, oldest first. */
export function listPlans(db: Db, page: PageRequest): Promise<Page<PlanRecord>> {
  return pageById(db.selectFrom('plans').selectAll(), page, decodePlan);
}

/** The id of a live consumer, else of an unrevoked key, on this plan; `undefined` when none is. */
export async function findPlanUser(db: Db, planId: string): Promise<string | undefined> {
  const consumer = await db
    .selectFrom('consumers')
    .select('id')
    .where('plan_id', '=', planId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (consumer) return consumer.id;
  const key = await db
    .selectFrom('keys')
    .select('id')
    .where('plan_id', '=', planId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return key?.id;
}

/** Inserts a plan, with a `plan.created` change and audit event (`name`, then `event.data`). */
export async function insertPlan(tx: Tx, plan: PlanRecord, event: WriteEvent): Promise<void> {
  await tx.db
    .insertInto('plans')
    .values({
      id: plan.id,
      name: plan.name,
      rate_limit: writeJsonOrNull(plan.rateLimit),
      quota: writeJsonOrNull(plan.quota),
      created_at: plan.createdAt,
      updated_at: plan.updatedAt,
    })
    .execute();
  await recordWrite(tx, planEntity('plan.created', plan.id), event, { name: plan.name });
}

/** Changes a plan's fields, with a `plan.updated` change and audit event (`event.data`). Returns the changed plan. */
export async function updatePlan(
  tx: Tx,
  plan: PlanRecord,
  changes: PlanChanges,
  event: WriteEvent,
): Promise<PlanRecord> {
  await tx.db
    .updateTable('plans')
    .set({
      updated_at: event.at,
      ...(changes.name !== undefined && { name: changes.name }),
      ...(changes.rateLimit !== undefined && { rate_limit: writeJsonOrNull(changes.rateLimit) }),
      ...(changes.quota !== undefined && { quota: writeJsonOrNull(changes.quota) }),
    })
    .where('id', '=', plan.id)
    .execute();
  await recordWrite(tx, planEntity('plan.updated', plan.id), event, {});
  return { ...plan, ...changes, updatedAt: event.at };
}

/** Deletes a plan, with a `plan.deleted` change and audit event (`name`, then `event.data`). */
export async function deletePlan(tx: Tx, plan: PlanRecord, event: WriteEvent): Promise<void> {
  await tx.db.deleteFrom('plans').where('id', '=', plan.id).execute();
  await recordWrite(tx, planEntity('plan.deleted', plan.id), event, { name: plan.name });
}

function planEntity(kind: 'plan.created' | 'plan.updated' | 'plan.deleted', id: string) {
  return { kind, targetType: 'plan', id } as const;
}
