import { ApiError, formatDuration, MAX_DURATION_MS, readDuration } from '@keyroll/core';

/** Parses an ISO 8601 instant from a request into epoch ms; `null` stays `null`. */
export function parseInstant(field: string, value: string | null | undefined): number | null | undefined {
  if (value === undefined || value === null) return value;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ApiError('VALIDATION_FAILED', `${field}: not an ISO 8601 date-time`, { field });
  return ms;
}

/** Parses a duration from a request into ms; 400 naming the field when it is not one or is too long. */
export function requireDuration(field: string, value: string | number): number {
  const read = readDuration(value);
  if ('ms' in read) return read.ms;
  const detail =
    read.fault === 'too-long'
      ? `${field}: too long (at most ${formatDuration(MAX_DURATION_MS)}, ${MAX_DURATION_MS / 1000} seconds)`
      : `${field}: not a duration (seconds, or "90s", "15m", "24h", "7d")`;
  throw new ApiError('VALIDATION_FAILED', detail, { field });
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
  if (expiresIn !== undefined) {
    const ms = requireDuration('expiresIn', expiresIn);
    // A key that expires the moment it is issued is a mistake in the request, and it is expiresIn's.
    if (ms <= 0) throw new ApiError('VALIDATION_FAILED', 'expiresIn: must be longer than 0', { field: 'expiresIn' });
    return now + ms;
  }
  return parseInstant('expiresAt', expiresAt);
}
