import { ApiError, isValidScope, parseCidr, parseDuration } from '@keyroll/core';
import type { RateLimitSpec } from '@keyroll/verifier/internal';

/** A rate limit as clients send it: a count per window (`"1m"` or seconds). */
export interface RateLimitInput {
  limit: number;
  window: string | number;
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
