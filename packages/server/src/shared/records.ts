import { formatDuration, type KeyStatus, keyStatusAt } from '@keyroll/core';
import type { ConsumersTable, KeysTable } from '@keyroll/storage';
import type { QuotaSpec, RateLimitSpec } from '@keyroll/verifier/internal';

/** A rate limit as it travels on the wire: `{limit: 100, window: "1m"}`. */
export interface RateLimitView {
  limit: number;
  window: string;
}

/** A consumer as the API shows it. */
export interface ConsumerView {
  id: string;
  name: string;
  externalId: string | null;
  metadata: Record<string, unknown>;
  planId: string | null;
  rateLimit: RateLimitView | null;
  quota: QuotaSpec | null;
  createdAt: string;
  updatedAt: string;
}

/** A key as the API shows it: never the secret, never its hash. */
export interface KeyView {
  id: string;
  consumerId: string;
  name: string;
  hint: string;
  version: number;
  predecessorId: string | null;
  status: KeyStatus;
  scopes: string[];
  metadata: Record<string, unknown>;
  allowedIps: string[] | null;
  rateLimit: RateLimitView | null;
  quota: QuotaSpec | null;
  planId: string | null;
  createdAt: string;
  updatedAt: string;
  expiresAt: string | null;
  retiresAt: string | null;
  revokedAt: string | null;
  revokeReason: string | null;
  lastUsedAt: string | null;
}

/** Epoch milliseconds as ISO 8601, keeping `null`. */
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function isoRequired(ms: number): string {
  return new Date(ms).toISOString();
}

/** The API view of a stored rate limit (JSON of a `RateLimitSpec`). */
export function rateLimitView(json: string | null): RateLimitView | null {
  if (!json) return null;
  const spec: RateLimitSpec = JSON.parse(json);
  return { limit: spec.limit, window: formatDuration(spec.windowMs) };
}

/** The API view of a consumer row. */
export function consumerView(row: ConsumersTable): ConsumerView {
  return {
    id: row.id,
    name: row.name,
    externalId: row.external_id,
    metadata: JSON.parse(row.metadata),
    planId: row.plan_id,
    rateLimit: rateLimitView(row.rate_limit),
    quota: row.quota ? JSON.parse(row.quota) : null,
    createdAt: isoRequired(row.created_at),
    updatedAt: isoRequired(row.updated_at),
  };
}

/** The API view of a key row, with its status at `now`. */
export function keyView(row: KeysTable, now: number): KeyView {
  return {
    id: row.id,
    consumerId: row.consumer_id,
    name: row.name,
    hint: row.hint,
    version: row.version,
    predecessorId: row.predecessor_id,
    status: keyStatusAt({ expiresAt: row.expires_at, retiresAt: row.retires_at, revokedAt: row.revoked_at }, now),
    scopes: JSON.parse(row.scopes),
    metadata: JSON.parse(row.metadata),
    allowedIps: row.allowed_ips ? JSON.parse(row.allowed_ips) : null,
    rateLimit: rateLimitView(row.rate_limit),
    quota: row.quota ? JSON.parse(row.quota) : null,
    planId: row.plan_id,
    createdAt: isoRequired(row.created_at),
    updatedAt: isoRequired(row.updated_at),
    expiresAt: iso(row.expires_at),
    retiresAt: iso(row.retires_at),
    revokedAt: iso(row.revoked_at),
    revokeReason: row.revoke_reason,
    lastUsedAt: iso(row.last_used_at),
  };
}
