import type { Db } from '../store.js';

/** An unrevoked key about to retire that still served valid requests recently. */
export interface RetiringKeyInUseRow {
  keyId: string;
  consumerId: string;
  /** Epoch ms. */
  retiresAt: number;
  /** Valid verifications since the minute bucket asked for. */
  requests: number;
}

/** Unrevoked keys retiring in `(now, until]` with valid verifications from the minute bucket `fromMinute` on. */
export async function listRetiringKeysInUse(
  db: Db,
  now: number,
  until: number,
  fromMinute: number,
): Promise<RetiringKeyInUseRow[]> {
  const rows = await db
    .selectFrom('keys')
    .innerJoin('usage_minutes as u', 'u.key_id', 'keys.id')
    .select((eb) => ['keys.id', 'keys.consumer_id', 'keys.retires_at', eb.fn.sum<number | string>('u.count').as('n')])
    .where('keys.retires_at', '>', now)
    .where('keys.retires_at', '<=', until)
    .where('keys.revoked_at', 'is', null)
    .where('u.code', '=', 'VALID')
    .where('u.minute', '>=', fromMinute)
    .groupBy(['keys.id', 'keys.consumer_id', 'keys.retires_at'])
    .execute();
  return rows.map((r) => ({
    keyId: r.id,
    consumerId: r.consumer_id,
    retiresAt: Number(r.retires_at),
    requests: Number(r.n),
  }));
}
