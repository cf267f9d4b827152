import { ApiError, parseDuration } from '@keyroll/core';

/** Parses an ISO 8601 instant from a request into epoch ms; `null` stays `null`. */
export function parseInstant(field: string, value: string | null | undefined): number | null | undefined {
  if (value === undefined || value === null) return value;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ApiError('VALIDATION_FAILED', `${field}: not an ISO 8601 date-time`, { field });
  return ms;
}

/** Parses a duration from a request into ms; 400 when it is not one. */
export function requireDuration(field: string, value: string | number): number {
  const ms = parseDuration(value);
  if (ms === null)
    throw new ApiError('VALIDATION_FAILED', `${field}: not a duration (seconds, or "90s", "15m", "24h", "7d")`, {
      field,
    });
  return ms;
}

/** Expiry from either `expiresAt` (instant) or `expiresIn` (duration from now); not both. */
export function expiryInput(
  expiresAt: string | null | undefined,
  expiresIn: string | number | undefined,
  now: number,
): number | null | undefined {
  if (expiresAt !== undefined && expiresIn !== undefined) {
    throw new ApiError('VALIDATION_FAILED', 'give expiresAt or expiresIn, not both', { field: 'expiresIn' });
  }
  if (expiresIn !== undefined) return now + requireDuration('expiresIn', expiresIn);
  return parseInstant('expiresAt', expiresAt);
}
