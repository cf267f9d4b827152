import {
  type ConsumerRecord,
  DATA_PLANE_KEY_FIELDS,
  type DataPlaneKey,
  type KeyRecord,
  type PlanRecord,
} from '@keyroll/storage';
import type { QuotaSpec, RateLimitSpec } from '../key-record.js';

/** A key as the data plane sends it: what verification needs, never a secret (only its SHA-256). */
export interface EdgeKey {
  hash: string;
  id: string;
  consumerId: string;
  name: string;
  version: number;
  lineageId: string;
  predecessorId: string | null;
  scopes: string[];
  metadata: Record<string, unknown>;
  allowedIps: string[] | null;
  rateLimit: RateLimitSpec | null;
  quota: QuotaSpec | null;
  planId: string | null;
  /** Epoch ms, as every time below. */
  expiresAt: number | null;
  retiresAt: number | null;
  revokedAt: number | null;
}

/**
 * The fields of an {@link EdgeKey}: what a `keyRow` snapshot line must hold (the head's `keyFields`
 * says where). One list with the order storage writes them in, so the two cannot drift.
 */
export const EDGE_KEY_FIELDS: readonly (keyof EdgeKey)[] = DATA_PLANE_KEY_FIELDS;
// Compile-time: an EdgeKey has exactly the fields storage writes, no more, no fewer.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameFields: Same<keyof EdgeKey, (typeof DATA_PLANE_KEY_FIELDS)[number]> = true;
void sameFields;

/** A consumer's limits as the data plane sends them. */
export interface EdgeConsumer {
  id: string;
  planId: string | null;
  rateLimit: RateLimitSpec | null;
  quota: QuotaSpec | null;
}

/** A plan's limits as the data plane sends them. */
export interface EdgePlan {
  id: string;
  rateLimit: RateLimitSpec | null;
  quota: QuotaSpec | null;
}

// A node's database writes the snapshot's key lines itself (storage's DataPlaneKey): the two shapes must not drift.
const sameKeyShape: [EdgeKey, DataPlaneKey] extends [DataPlaneKey, EdgeKey] ? true : never = true;
void sameKeyShape;

/**
 * The first line of `GET /v1/data-plane/snapshot`: the change sequence the rows were read at and,
 * from nodes that announce it, how many key lines follow (a hint to presize with, never trusted as
 * the count: the lines are).
 */
export interface SnapshotHead {
  seq: number;
  keys?: number;
  /**
   * Present when the edge asked for `?keys=arrays` (and the node knows it): the names of a key's
   * fields, in the order `{"keyRow":[…]}` lines hold their values.
   */
  keyFields?: string[];
}

/** One line of `GET /v1/data-plane/snapshot` after the first ({@link SnapshotHead}). */
export type SnapshotLine = { key: EdgeKey } | { keyRow: unknown[] } | { consumer: EdgeConsumer } | { plan: EdgePlan };

/**
 * The data of one `change` event of `GET /v1/data-plane/changes` (its SSE id is `seq`): the change,
 * plus the row it left behind — `key` for a change about a key, `consumer` or `plan` for theirs;
 * `null` when the row is gone (a deleted consumer or plan).
 */
export interface EdgeChange {
  seq: number;
  kind: string;
  entityId: string;
  keyHash: string | null;
  key?: EdgeKey | null;
  consumer?: EdgeConsumer | null;
  plan?: EdgePlan | null;
}

/** The wire form of a stored key (drops the hint, the revoke reason and the usage fields). */
export function edgeKeyOf(k: KeyRecord): EdgeKey {
  return {
    hash: k.hash,
    id: k.id,
    consumerId: k.consumerId,
    name: k.name,
    version: k.version,
    lineageId: k.lineageId,
    predecessorId: k.predecessorId,
    scopes: k.scopes,
    metadata: k.metadata,
    allowedIps: k.allowedIps,
    rateLimit: k.rateLimit,
    quota: k.quota,
    planId: k.planId,
    expiresAt: k.expiresAt,
    retiresAt: k.retiresAt,
    revokedAt: k.revokedAt,
  };
}

/** The wire form of a stored consumer's limits. */
export function edgeConsumerOf(c: ConsumerRecord): EdgeConsumer {
  return { id: c.id, planId: c.planId, rateLimit: c.rateLimit, quota: c.quota };
}

/** The wire form of a stored plan's limits. */
export function edgePlanOf(p: PlanRecord): EdgePlan {
  return { id: p.id, rateLimit: p.rateLimit, quota: p.quota };
}

/** Thrown when the control plane sends something that is not the data-plane wire format. */
export class DataPlaneProtocolError extends Error {
  override name = 'DataPlaneProtocolError';
}

/**
 * Checks the shape of a key received from the control plane: every field a decision or the edge's
 * key table reads, so that a hostile or broken upstream gets its line refused, never a crash later.
 */
export function checkEdgeKey(value: unknown): EdgeKey {
  if (!isEdgeKey(value))
    throw new DataPlaneProtocolError('a key from the control plane lacks a field verification needs');
  return value;
}

function isEdgeKey(value: unknown): value is EdgeKey {
  if (typeof value !== 'object' || value === null) return false;
  const k = value as Partial<Record<keyof EdgeKey, unknown>>;
  return (
    typeof k.hash === 'string' &&
    typeof k.id === 'string' &&
    typeof k.consumerId === 'string' &&
    typeof k.lineageId === 'string' &&
    typeof k.name === 'string' &&
    Number.isSafeInteger(k.version) &&
    isStrings(k.scopes) &&
    typeof k.metadata === 'object' &&
    k.metadata !== null &&
    (k.allowedIps === null || isStrings(k.allowedIps)) &&
    (k.planId === null || k.planId === undefined || typeof k.planId === 'string') &&
    isObjectOrNull(k.rateLimit) &&
    isObjectOrNull(k.quota) &&
    isTime(k.expiresAt) &&
    isTime(k.retiresAt) &&
    isTime(k.revokedAt)
  );
}

function isStrings(value: unknown): value is string[] {
  if (!Array.isArray(value)) return false;
  for (const s of value) if (typeof s !== 'string') return false;
  return true;
}

function isObjectOrNull(value: unknown): boolean {
  return value === null || value === undefined || typeof value === 'object';
}

function isTime(value: unknown): boolean {
  return value === null || Number.isSafeInteger(value);
}

/** Checks the shape of a consumer's or plan's limits received from the control plane. */
export function checkEdgeLimits<T extends EdgeConsumer | EdgePlan>(value: unknown): T {
  const v = value as Partial<EdgeConsumer> | null;
  if (typeof v !== 'object' || v === null || typeof v.id !== 'string') {
    throw new DataPlaneProtocolError('limits from the control plane lack an id');
  }
  return v as T;
}
