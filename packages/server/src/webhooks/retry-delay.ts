/** Longest wait between two delivery attempts. */
export const MAX_RETRY_DELAY_MS = 3_600_000;

/**
 * Delay before attempt `attempt + 1` after `attempt` failures: `base · 2^(attempt-1)`, capped at an
 * hour, with "equal jitter" (half fixed, half random) so that failed endpoints are not hit in lockstep.
 */
export function retryDelay(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const exp = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}
