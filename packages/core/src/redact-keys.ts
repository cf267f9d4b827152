import { CHECKSUM_LENGTH, RANDOM_LENGTH } from './key-format.js';

/**
 * Anything shaped like a key, whatever its prefix (configured prefixes included) and whether or not
 * its checksum holds: prefix words joined by `_`, then `_` and at least the key body's length of
 * base62. `_` may be percent-encoded (`%5F`), as in a URL. Ids (`key_…`, 20 characters) are shorter.
 */
const KEY_SHAPED = new RegExp(
  `[a-z][a-z0-9]*(?:(?:_|%5f)[a-z0-9]+)*?(?:_|%5f)[0-9a-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH - 9},}(?![0-9a-z])`,
  'gi',
);

/** What stands in for a key's secret part. */
export const REDACTED = '[redacted]';

/**
 * Replaces every key-shaped token in `text` by its prefix and `[redacted]`
 * (`GET /v1/keys/kr_live_4fT…` → `GET /v1/keys/kr_live_[redacted]`), for logs and error details.
 * @example redactKeys('/v1/keys/kr_live_4fT…?x=1') // '/v1/keys/kr_live_[redacted]?x=1'
 */
export function redactKeys(text: string): string {
  if (text.length < RANDOM_LENGTH) return text;
  return text.replace(KEY_SHAPED, (token) => {
    const cut = Math.max(token.lastIndexOf('_'), token.toLowerCase().lastIndexOf('%5f') + 2);
    return `${token.slice(0, cut + 1)}${REDACTED}`;
  });
}

/** {@link redactKeys} applied to every string in a JSON-like value (object keys included); other values as they are. */
export function redactKeysIn(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactKeys(value);
  if (depth > 32 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactKeysIn(v, depth + 1));
  return redactRecord(Object.fromEntries(Object.entries(value)), depth + 1);
}

/** {@link redactKeysIn} for a record, keeping its type. */
export function redactRecord(record: Record<string, unknown>, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) out[redactKeys(k)] = redactKeysIn(v, depth + 1);
  return out;
}
