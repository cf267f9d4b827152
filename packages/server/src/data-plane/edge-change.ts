import { type ChangeEntry, type Db, findKeyByHash, findLiveConsumer, findPlan } from '@keyroll/storage';
import { type EdgeChange, edgeConsumerOf, edgeKeyOf, edgePlanOf } from '@keyroll/verifier/internal';

/**
 * A change-log entry with the row it left behind, as an edge needs it to update its table: the key
 * (read by its hash) for a change about a key, the consumer's or plan's limits for theirs. The row
 * is read now, so it may already reflect later changes; applying it again at those is harmless.
 */
export async function edgeChangeOf(db: Db, change: ChangeEntry): Promise<EdgeChange> {
  const base: EdgeChange = { seq: change.seq, kind: change.kind, entityId: change.entityId, keyHash: change.keyHash };
  if (change.kind.startsWith('consumer.')) {
    const consumer = await findLiveConsumer(db, change.entityId);
    return { ...base, consumer: consumer ? edgeConsumerOf(consumer) : null };
  }
  if (change.kind.startsWith('plan.')) {
    const plan = await findPlan(db, change.entityId);
    return { ...base, plan: plan ? edgePlanOf(plan) : null };
  }
  if (change.keyHash) {
    const key = await findKeyByHash(db, change.keyHash);
    return { ...base, key: key ? edgeKeyOf(key) : null };
  }
  return base;
}
