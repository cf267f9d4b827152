const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;

/** A duration as keyroll accepts it: seconds, or a string like `"90s"`, `"15m"`, `"24h"`, `"30d"`. */
export type Duration = number | string;

/**
 * Milliseconds of a duration, or `null` when it is not one. Same grammar as the server's parser;
 * kept here because the SDK must not import `@keyroll/core` (it uses `node:crypto`).
 * @example toMilliseconds('30d') // 2592000000
 */
export function toMilliseconds(input: Duration): number | null {
  const s = typeof input === 'number' ? String(input) : input.trim();
  if (/^\d+(?:\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const m = DURATION_RE.exec(s);
  const unitMs = m?.[2] === undefined ? undefined : UNIT_MS[m[2]];
  if (!m || unitMs === undefined) return null;
  return Math.round(Number(m[1]) * unitMs);
}
