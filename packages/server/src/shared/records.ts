import { formatDuration, type KeyStatus, keyStatusAt } from '@keyroll/core';
import type { ConsumerRecord, KeyRecord, QuotaSpec, RateLimitSpec, RefillSpec } from '@keyroll/storage';

/** A rate limit as it travels on the wire: `{limit: 100, window: "1m"}`. */
export interface RateLimitView {
  limit: number;
  window: string;
}

/** A quota as it travels on the wire: `{limit: 100, refill: {amount: 10, every: "1h"}}`. */
export interface QuotaView {
  limit: number;
  period?: 'day' | 'month';
  refill?: { amount: number; every: string };
}

/** A consumer as the API shows it. */
export interface ConsumerView {
  id: string;
  name: string;
  externalId: string | null;
  metadata: Record<string, unknown>;
  planId: string | null;
  rateLimit: RateLimitView | null;
  quota: QuotaView | null;
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
  quota: QuotaView | null;
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

/** The API view of a stored rate limit. */
export function rateLimitView(spec: RateLimitSpec | null): RateLimitView | null {
  return spec && { limit: spec.limit, window: formatDuration(spec.windowMs) };
}

/** The API view of a stored refill: `everyMs` as a duration such as `"6h"`. */
export function refillView(refill: RefillSpec): { amount: number; every: string } {
  return { amount: refill.amount, every: 'everyMs' in refill ? formatDuration(refill.everyMs) : refill.every };
}

/** The API view of a stored quota. */
export function quotaView(spec: QuotaSpec | null): QuotaView | null {
  if (!spec) return null;
  return {
    limit: spec.limit,
    ...(spec.period && { period: spec.period }),
    ...(spec.refill && { refill: refillView(spec.refill) }),
  };
}

/** The API view of a consumer. */
export function consumerView(consumer: ConsumerRecord): ConsumerView {
  return {
    id: consumer.id,
    name: consumer.name,
    externalId: consumer.externalId,
    metadata: consumer.metadata,
    planId: consumer.planId,
    rateLimit: rateLimitView(consumer.rateLimit),
    quota: quotaView(consumer.quota),
    createdAt: isoRequired(consumer.createdAt),
    updatedAt: isoRequired(consumer.updatedAt),
  };
}

/** The API view of a key, with its status at `now`. */
export function keyRecordView(key: KeyRecord, now: number): KeyView {
  return {
    id: key.id,
    consumerId: key.consumerId,
    name: key.name,
    hint: key.hint,
    version: key.version,
    predecessorId: key.predecessorId,
    status: keyStatusAt(key, now),
    scopes: key.scopes,
    metadata: key.metadata,
    allowedIps: key.allowedIps,
    rateLimit: rateLimitView(key.rateLimit),
    quota: quotaView(key.quota),
    planId: key.planId,
    createdAt: isoRequired(key.createdAt),
    updatedAt: isoRequired(key.updatedAt),
    expiresAt: iso(key.expiresAt),
    retiresAt: iso(key.retiresAt),
    revokedAt: iso(key.revokedAt),
    revokeReason: key.revokeReason,
    lastUsedAt: iso(key.lastUsedAt),
  };
}
