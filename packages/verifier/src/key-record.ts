import { type Cidr, parseCidr, type VerifiableKey } from '@keyroll/core';
import type { KeysTable } from '@keyroll/storage';

/** A rate limit: at most `limit` requests per `windowMs`. */
export interface RateLimitSpec {
  limit: number;
  windowMs: number;
}

/** A quota: at most `limit` requests (or credits) per calendar period (UTC). */
export interface QuotaSpec {
  limit: number;
  period: 'day' | 'month';
}

/** What a verifier keeps about a key: everything a decision needs, nothing secret. */
export interface CachedKey extends VerifiableKey {
  hash: string;
  name: string;
  version: number;
  /** The first key of this key's rotation chain: a key and its successors share limit counters. */
  lineageId: string;
  metadata: Record<string, unknown>;
  rateLimit: RateLimitSpec | null;
  quota: QuotaSpec | null;
  planId: string | null;
}

/** Builds the cached form of a stored key row. */
export function cachedKeyFromRow(row: KeysTable): CachedKey {
  const allowed: string[] | null = row.allowed_ips ? JSON.parse(row.allowed_ips) : null;
  return {
    id: row.id,
    consumerId: row.consumer_id,
    hash: row.hash,
    name: row.name,
    version: row.version,
    lineageId: row.lineage_id ?? row.id,
    scopes: JSON.parse(row.scopes),
    metadata: JSON.parse(row.metadata),
    allowedRanges: allowed ? allowed.map(parseCidr).filter((c): c is Cidr => c !== null) : null,
    rateLimit: row.rate_limit ? JSON.parse(row.rate_limit) : null,
    quota: row.quota ? JSON.parse(row.quota) : null,
    planId: row.plan_id,
    expiresAt: row.expires_at,
    retiresAt: row.retires_at,
    revokedAt: row.revoked_at,
  };
}
