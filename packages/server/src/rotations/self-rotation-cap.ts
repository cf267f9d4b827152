import { SELF_ROTATION_WINDOW_MS } from '@keyroll/core';
import { selfRotationStartsAfter, type Tx } from '@keyroll/storage';

/**
 * Start instants of the consumer's self-rotations in the last 24 hours (rolling, completed and
 * rolled-back ones included), newest first, at most `perDay` of them — for core's daily cap. Read
 * inside the serialised rotation transaction, so the cap holds across nodes and concurrent requests.
 */
export function selfRotationsToday(tx: Tx, consumerId: string, now: number, perDay: number): Promise<number[]> {
  return selfRotationStartsAfter(tx.db, consumerId, now - SELF_ROTATION_WINDOW_MS, perDay);
}
