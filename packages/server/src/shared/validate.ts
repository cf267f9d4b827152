import { ApiError, isValidScope, parseCidr, parseDuration, readDuration } from '@keyroll/core';
import type { QuotaSpec, RateLimitSpec, RefillSpec } from '@keyroll/verifier/internal';

/** A rate limit as clients send it: a count per window (`"1m"` or seconds). */
export interface RateLimitInput {
  limit: number;
  window: string | number;
}

/** A quota as clients send it: a budget reset each `period`, refilled by `refill`, or both. */
export interface QuotaInput {
  limit: number;
  period?: 'day' | 'month' | undefined;
  refill?: { amount: number; every: string | number } | undefined;
}

/** Largest serialized metadata object accepted, in bytes. */
export const MAX_METADATA_BYTES = 8192;

function invalid(field: string, message: string): never {
  throw new ApiError('VALIDATION_FAILED', `${field}: ${message}`, { field });
}

/** Checks a list of scopes; duplicates are removed, order kept. */
export function checkScopes(scopes: readonly string[], field = 'scopes'): string[] {
  for (const s of scopes) if (!isValidScope(s)) invalid(field, `invalid scope ${JSON.stringify(s)}`);
  return [...new Set(scopes)];
}

/** Checks an allow-list of CIDRs or addresses. */
export function checkAllowedIps(ips: readonly string[]): string[] {
  for (const ip of ips)
    if (!parseCidr(ip)) invalid('allowedIps', `not an address or CIDR range: ${JSON.stringify(ip)}`);
  return [...new Set(ips)];
}

/** Parses a rate limit input into its stored form. */
export function parseRateLimit(input: RateLimitInput): RateLimitSpec {
  const windowMs = parseDuration(input.window);
  if (windowMs === null || windowMs < 1000) invalid('rateLimit.window', 'must be a duration of at least 1s');
  return { limit: input.limit, windowMs };
}

/**
 * Parses a quota input into its stored form: it needs a `period`, a `refill` or both; a refill's
 * `amount` is at most the quota's `limit`, its `every` is `"day"`, `"month"` or a duration of at least 1s.
 */
export function parseQuota(input: QuotaInput): QuotaSpec {
  if (!input.period && !input.refill) invalid('quota', 'needs a period ("day" or "month"), a refill, or both');
  return {
    limit: input.limit,
    ...(input.period && { period: input.period }),
    ...(input.refill && { refill: parseRefill(input.refill, input.limit) }),
  };
}

function parseRefill(input: NonNullable<QuotaInput['refill']>, limit: number): RefillSpec {
  const { amount, every } = input;
  if (!Number.isSafeInteger(amount) || amount < 1) invalid('quota.refill.amount', 'must be a positive integer');
  if (amount > limit) invalid('quota.refill.amount', `must be at most the quota's limit (${limit}); got ${amount}`);
  if (every === 'day' || every === 'month') return { amount, every };
  const read = readDuration(every);
  if ('fault' in read || read.ms < 1000) {
    const why = 'fault' in read && read.fault === 'too-long' ? 'at most 10 years' : 'a duration of at least 1s';
    invalid('quota.refill.every', `must be "day", "month" or ${why}; got ${JSON.stringify(every)}`);
  }
  return { amount, everyMs: read.ms };
}

/** Deepest nesting of objects and arrays accepted in metadata. */
export const MAX_METADATA_DEPTH = 16;

function nestedDeeperThan(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (limit === 0) return true;
  return Object.values(value).some((v) => nestedDeeperThan(v, limit - 1));
}

/** Checks metadata: bounded in serialized size and in depth (deep nesting would overflow the stack). */
export function checkMetadata(metadata: Record<string, unknown>): Record<string, unknown> {
  if (nestedDeeperThan(metadata, MAX_METADATA_DEPTH))
    invalid('metadata', `nested deeper than ${MAX_METADATA_DEPTH} levels`);
  if (Buffer.byteLength(JSON.stringify(metadata)) > MAX_METADATA_BYTES) {
    invalid('metadata', `larger than ${MAX_METADATA_BYTES} bytes`);
  }
  return metadata;
}

/** Checks that an instant lies in the future. */
export function checkFuture(field: string, at: number, now: number): number {
  if (at <= now) invalid(field, 'must be in the future');
  return at;
}
