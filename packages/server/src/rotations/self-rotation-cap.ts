import { ApiError } from '@keyroll/core';
import type { Tx } from '@keyroll/storage';
import { retryAfterSeconds } from './self-service-limits.js';

/** The window of the daily self-rotation cap. */
export const SELF_ROTATION_WINDOW_MS = 24 * 3_600_000;

/**
 * 429 `ROTATION_LIMIT_REACHED` when the consumer has started `perDay` self-rotations in the last 24
 * hours (rolling, completed and rolled-back ones included). Counted in the database inside the
 * serialised rotation transaction, so the cap holds across nodes and concurrent requests.
 */
export async function assertSelfRotationsToday(tx: Tx, consumerId: string, now: number, perDay: number): Promise<void> {
  const since = now - SELF_ROTATION_WINDOW_MS;
  const recent = await tx.db
    .selectFrom('rotations')
    .select('started_at')
    .where('consumer_id', '=', consumerId)
    .where('origin', '=', 'self')
    .where('started_at', '>', since)
    .orderBy('started_at', 'desc')
    .limit(perDay)
    .execute();
  const oldest = recent[perDay - 1];
  if (oldest === undefined) return;
  throw new ApiError('ROTATION_LIMIT_REACHED', `at most ${perDay} self-rotations per consumer in 24 hours`, {
    limit: perDay,
    retryAfter: retryAfterSeconds(Number(oldest.started_at) + SELF_ROTATION_WINDOW_MS, now),
  });
}
