import { SELF_ROTATION_WINDOW_MS } from '@keyroll/core';
import type { Tx } from '@keyroll/storage';

/**
 * Start instants of the consumer's self-rotations in the last 24 hours (rolling, completed and
 * rolled-back ones included), newest first, at most `perDay` of them — for core's daily cap. Read
 * inside the serialised rotation transaction, so the cap holds across nodes and concurrent requests.
 */
export async function selfRotationsToday(tx: Tx, consumerId: string, now: number, perDay: number): Promise<number[]> {
  const recent = await tx.db
    .selectFrom('rotations')
    .select('started_at')
    .where('consumer_id', '=', consumerId)
    .where('origin', '=', 'self')
    .where('started_at', '>', now - SELF_ROTATION_WINDOW_MS)
    .orderBy('started_at', 'desc')
    .limit(perDay)
    .execute();
  return recent.map((r) => Number(r.started_at));
}
