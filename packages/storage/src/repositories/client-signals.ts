import { sql } from 'kysely';
import type { Db } from '../store.js';
import type { MinuteRange } from './usage.js';

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
 * the `clientsPerKey` most recent per key), in one transaction of its own (`db` is the store's handle,
 * not a transaction). Give rows in one fixed order so that nodes writing at once cannot deadlock on
 * PostgreSQL.
 */
export async function recordClientSignals(db: Db, signals: ClientSignals): Promise<void> {
  await db.transaction().execute((trx) => writeClientSignals(trx, signals));
}

/** Writes client signals as {@link recordClientSignals} does, within the caller's transaction `trx`. */
export async function writeClientSignals(trx: Db, signals: ClientSignals): Promise<void> {
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
}

/** Unknown-key verifications per address and code in a range, with the last minute each was seen in. */
export async function unknownKeysByAddressAndCode(
  db: Db,
  range: MinuteRange,
): Promise<{ address: string; code: string; count: number; lastMinute: number }[]> {
  const rows = await db
    .selectFrom('unknown_key_minutes')
    .select((eb) => ['address', 'code', eb.fn.sum<number | string>('count').as('n'), eb.fn.max('minute').as('last')])
    .where('minute', '>=', range.from)
    .where('minute', '<', range.to)
    .groupBy(['address', 'code'])
    .execute();
  return rows.map((r) => ({
    address: r.address,
    code: r.code,
    count: Number(r.n),
    lastMinute: Number(r.last),
  }));
}

/** Addresses that presented at least `threshold` unknown keys (any code) in one minute of a range, oldest first. */
export async function unknownKeyBursts(
  db: Db,
  range: MinuteRange,
  threshold: number,
): Promise<{ address: string; minute: number; count: number }[]> {
  const count = sql<number | string>`sum(count)`;
  const rows = await db
    .selectFrom('unknown_key_minutes')
    .select(['address', 'minute', count.as('n')])
    .where('minute', '>=', range.from)
    .where('minute', '<', range.to)
    .groupBy(['address', 'minute'])
    .having(count, '>=', threshold)
    .orderBy('minute')
    .execute();
  return rows.map((r) => ({ address: r.address, minute: Number(r.minute), count: Number(r.n) }));
}

/** The most recently seen clients of a key with a sighting since `since`, most recent first, at most `limit`. */
export async function listKeyClients(db: Db, keyId: string, since: number, limit: number): Promise<ClientSighting[]> {
  const rows = await db
    .selectFrom('key_clients')
    .selectAll()
    .where('key_id', '=', keyId)
    .where('last_seen', '>=', since)
    .orderBy('last_seen', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    address: r.address,
    userAgent: r.user_agent,
    firstSeen: Number(r.first_seen),
    lastSeen: Number(r.last_seen),
    count: Number(r.count),
  }));
}
