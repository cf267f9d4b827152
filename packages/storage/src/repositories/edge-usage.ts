import { sql } from 'kysely';
import type { Db } from '../store.js';
import { type ClientSighting, type UnknownKeyCount, writeClientSignals } from './client-signals.js';

/** Verifications of one key in one minute with one outcome, as an edge counted them. */
export interface EdgeUsageBucket {
  keyId: string;
  /** Epoch ms at the start of the minute. */
  minute: number;
  code: string;
  count: number;
}

/** One batch of an edge's usage: applied at most once, by `id`. */
export interface EdgeUsageBatch {
  id: string;
  buckets: EdgeUsageBucket[];
  /** The latest accepted use of each key (epoch ms). */
  lastUsed: { keyId: string; at: number }[];
  /** Unknown keys (`NOT_FOUND`, `MALFORMED`) per source address and minute (absent from older edges). */
  unknownKeys?: UnknownKeyCount[];
  /** Clients (address and user agent) seen with each key (absent from older edges). */
  clients?: EdgeClientSighting[];
}

/** A client seen with a key at an edge. */
export interface EdgeClientSighting extends ClientSighting {
  keyId: string;
}

/** Client rows kept per key for edge traffic: the most recently seen (a node's default). */
const CLIENTS_PER_KEY = 20;

/**
 * Adds an edge's usage counts, last-use times and client signals (unknown-key counts, clients per
 * key), once per batch id, in one transaction: a batch sent again after a lost answer finds its id
 * and changes nothing. Keys this store does not hold are skipped; each count is filed under the
 * key's own consumer, whatever the edge believed. Returns false for a batch already applied.
 */
export function recordEdgeUsage(db: Db, batch: EdgeUsageBatch, now: number): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('edge_usage_batches')
      .values({ id: batch.id, received_at: now })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) return false;
    const clients = batch.clients ?? [];
    const ids = [
      ...new Set([
        ...batch.buckets.map((b) => b.keyId),
        ...batch.lastUsed.map((u) => u.keyId),
        ...clients.map((c) => c.keyId),
      ]),
    ];
    const owners = new Map(
      ids.length === 0
        ? []
        : (await trx.selectFrom('keys').select(['id', 'consumer_id']).where('id', 'in', ids).execute()).map((k) => [
            k.id,
            k.consumer_id,
          ]),
    );
    for (const b of batch.buckets) {
      const consumerId = owners.get(b.keyId);
      if (consumerId === undefined) continue;
      await trx
        .insertInto('usage_minutes')
        .values({ key_id: b.keyId, consumer_id: consumerId, minute: b.minute, code: b.code, count: b.count })
        .onConflict((oc) =>
          oc.columns(['key_id', 'minute', 'code']).doUpdateSet({ count: sql`usage_minutes.count + ${b.count}` }),
        )
        .execute();
    }
    for (const u of batch.lastUsed) {
      if (!owners.has(u.keyId)) continue;
      await trx
        .updateTable('keys')
        .set({ last_used_at: u.at })
        .where('id', '=', u.keyId)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', u.at)]))
        .execute();
    }
    await writeClientSignals(trx, {
      unknownKeys: [...(batch.unknownKeys ?? [])].sort(byRow((u) => `${u.address}|${u.minute}|${u.code}`)),
      clients: clientsByKey(clients.filter((c) => owners.has(c.keyId))),
      clientsPerKey: CLIENTS_PER_KEY,
    });
    return true;
  });
}

/** A comparator of rows by a text id. */
function byRow<T>(id: (row: T) => string): (a: T, b: T) => number {
  return (a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0);
}

/** Sightings grouped by key, keys and sightings in a fixed order (so that writers at once cannot deadlock). */
function clientsByKey(clients: EdgeClientSighting[]): [string, ClientSighting[]][] {
  const byKey = new Map<string, ClientSighting[]>();
  for (const { keyId, ...seen } of [...clients].sort(byRow((c) => `${c.keyId}|${c.address}|${c.userAgent}`))) {
    const list = byKey.get(keyId);
    if (list) list.push(seen);
    else byKey.set(keyId, [seen]);
  }
  return [...byKey];
}
