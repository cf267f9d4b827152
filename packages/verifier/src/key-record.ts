import { type Cidr, parseCidr, type VerifiableKey } from '@keyroll/core';
import type { KeyRecord, QuotaSpec, RateLimitSpec } from '@keyroll/storage';

/** The stored forms of a rate limit and a quota (defined by storage, which decodes them). */
export type { QuotaSpec, RateLimitSpec, RefillSpec } from '@keyroll/storage';

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

/** Builds the cached form of a stored key. */
export function cachedKeyFromRecord(key: KeyRecord): CachedKey {
  return {
    id: key.id,
    consumerId: key.consumerId,
    hash: key.hash,
    name: key.name,
    version: key.version,
    lineageId: key.lineageId,
    scopes: key.scopes,
    metadata: key.metadata,
    allowedRanges: key.allowedIps ? key.allowedIps.map(parseCidr).filter((c): c is Cidr => c !== null) : null,
    rateLimit: key.rateLimit,
    quota: key.quota,
    planId: key.planId,
    expiresAt: key.expiresAt,
    retiresAt: key.retiresAt,
    revokedAt: key.revokedAt,
  };
}
