import { formatDuration } from '../duration.js';
import { type Refusal, refuse } from './decision.js';

/** The window of the daily self-rotation cap. */
export const SELF_ROTATION_WINDOW_MS = 24 * 3_600_000;

/** Grace of a self-rotation when neither the request nor a policy gives one (bounded by the maximum). */
export const DEFAULT_SELF_GRACE_MS = 24 * 3_600_000;

/**
 * The grace period of a self-rotation: the request's (400 beyond `maxMs`), else the policy's, else
 * {@link DEFAULT_SELF_GRACE_MS}, capped at `maxMs`.
 */
export function selfRotationGraceMs(
  requestedMs: number | undefined,
  policyGraceMs: number | undefined,
  maxMs: number,
): number | Refusal {
  if (requestedMs !== undefined) {
    if (requestedMs <= maxMs) return requestedMs;
    return refuse('VALIDATION_FAILED', `gracePeriod: at most ${formatDuration(maxMs)}`, {
      field: 'gracePeriod',
      max: formatDuration(maxMs),
    });
  }
  return Math.min(policyGraceMs ?? DEFAULT_SELF_GRACE_MS, maxMs);
}

/**
 * Each self-rotation leaves one more key valid for its grace period: 409 `KEY_LIMIT_REACHED` when the
 * consumer already has `max` of them rolling, or a loop of self-rotations would mint valid keys.
 */
export function selfRotationsRollingRefusal(consumerId: string, rolling: number, max: number): Refusal | null {
  if (rolling < max) return null;
  return refuse('KEY_LIMIT_REACHED', `consumer ${consumerId} already has ${rolling} self-rotations rolling`, {
    limit: max,
  });
}

/**
 * 429 `ROTATION_LIMIT_REACHED` when `recentStarts` (start instants of the consumer's self-rotations
 * in the last 24 hours, newest first, at most `perDay` of them) reaches `perDay`; `retryAfter` is in
 * seconds, until the oldest of them leaves the window.
 */
export function selfRotationsTodayRefusal(
  recentStarts: readonly number[],
  now: number,
  perDay: number,
): Refusal | null {
  const oldest = recentStarts[perDay - 1];
  if (oldest === undefined) return null;
  return refuse('ROTATION_LIMIT_REACHED', `at most ${perDay} self-rotations per consumer in 24 hours`, {
    limit: perDay,
    retryAfter: Math.max(1, Math.ceil((oldest + SELF_ROTATION_WINDOW_MS - now) / 1000)),
  });
}
