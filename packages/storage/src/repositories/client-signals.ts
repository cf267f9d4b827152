import { sql } from 'kysely';
import type { Db } from '../store.js';

/** Verifications of unknown keys (`NOT_FOUND`, `MALFORMED`) from one address in one minute bucket. */
export interface UnknownKeyCount {
  address: string;
  /** Start of the minute, epoch ms. */
  minute: number;
  code: string;
  count: number;
}

/** One client (address and user agent) seen with a key since the last write. */
export interface ClientSighting {
  address: string;
  userAgent: string;
  /** Epoch ms. */
  firstSeen: number;
  lastSeen: number;
  count: number;
}

/** What {@link recordClientSignals} writes. */
export interface ClientSignals {
  unknownKeys: readonly UnknownKeyCount[];
  /** Per key id: the clients seen with it. */
  clients: readonly (readonly [keyId: string, seen: readonly ClientSighting[]])[];
  /** Client rows kept per key: the most recently seen; older ones are deleted. */
  clientsPerKey: number;
}

/**
 * Adds unknown-key counts to `unknown_key_minutes` and client sightings to `key_clients` (keeping
 * the `clientsPerKey` most recent per key), in one transaction of its own. Give rows in one fixed
 * order so that nodes writing at once cannot deadlock on PostgreSQL.
 */
export async function recordClientSignals(db: Db, signals: ClientSignals): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const u of signals.unknownKeys) {
      await trx
        .insertInto('unknown_key_minutes')
        .values({ address: u.address, minute: u.minute, code: u.code, count: u.count })
        .onConflict((oc) =>
          oc.columns(['address', 'minute', 'code']).doUpdateSet({ count: sql`unknown_key_minutes.count + ${u.count}` }),
        )
        .execute();
    }
    for (const [keyId, seen] of signals.clients) {
      for (const c of seen) {
        await trx
          .insertInto('key_clients')
          .values({
            key_id: keyId,
            address: c.address,
            user_agent: c.userAgent,
            first_seen: c.firstSeen,
            last_seen: c.lastSeen,
            count: c.count,
          })
          .onConflict((oc) =>
            oc.columns(['key_id', 'address', 'user_agent']).doUpdateSet({
              count: sql`key_clients.count + ${c.count}`,
              last_seen: sql`case when key_clients.last_seen > ${c.lastSeen} then key_clients.last_seen else ${c.lastSeen} end`,
            }),
          )
          .execute();
      }
      const stale = await trx
        .selectFrom('key_clients')
        .select(['address', 'user_agent'])
        .where('key_id', '=', keyId)
        .orderBy('last_seen', 'desc')
        .offset(signals.clientsPerKey)
        .limit(1000)
        .execute();
      for (const s of stale) {
        await trx
          .deleteFrom('key_clients')
          .where('key_id', '=', keyId)
          .where('address', '=', s.address)
          .where('user_agent', '=', s.user_agent)
          .execute();
      }
    }
  });
}
