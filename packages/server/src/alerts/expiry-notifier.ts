import type { Clock } from '@keyroll/core';
import { type Database, type Store, writeState } from '@keyroll/storage';
import { type Kysely, sql } from 'kysely';

/** What an {@link ExpiryNotifier} needs. */
export interface ExpiryNotifierOptions {
  store: Store;
  clock: Clock;
  /** How long before a key's expiry `key.expiring` is announced. */
  noticeMs: number;
  /** Keys announced per call (default 500). */
  batchSize?: number;
}

/** Prefix of the `monitoring_state` rows that remember which expiry was announced. */
const NOTICE = 'expiring:';

/**
 * Announces each key's coming expiry once, `noticeMs` ahead, as the audit event `key.expiring`
 * (and so as a webhook). A key whose expiry is moved is announced again for the new date.
 */
export class ExpiryNotifier {
  readonly #o: ExpiryNotifierOptions;

  constructor(options: ExpiryNotifierOptions) {
    this.#o = options;
  }

  /** Announces the keys that entered the notice window; returns how many. */
  async tick(): Promise<number> {
    const now = this.#o.clock.now();
    // A read first, so that the write lock is taken only when there is something to announce.
    if ((await this.#due(this.#o.store.db, now, 1)).length === 0) return 0;
    return this.#o.store.mutate(async (tx) => {
      const due = await this.#due(tx.db, now, this.#o.batchSize ?? 500);
      for (const k of due) {
        const expiresAt = Number(k.expires_at);
        await tx.audit({
          at: now,
          actor: 'system:monitoring',
          action: 'key.expiring',
          targetType: 'key',
          targetId: k.id,
          data: {
            consumerId: k.consumer_id,
            name: k.name,
            hint: k.hint,
            expiresAt: new Date(expiresAt).toISOString(),
          },
        });
        await writeState(tx.db, NOTICE + k.id, expiresAt, now);
      }
      return due.length;
    });
  }

  #due(db: Kysely<Database>, now: number, limit: number) {
    return db
      .selectFrom('keys')
      .leftJoin('monitoring_state as s', (join) => join.on('s.name', '=', sql<string>`${NOTICE} || keys.id`))
      .select(['keys.id', 'keys.consumer_id', 'keys.name', 'keys.hint', 'keys.expires_at', 's.value'])
      .where('keys.expires_at', '>', now)
      .where('keys.expires_at', '<=', now + this.#o.noticeMs)
      .where('keys.revoked_at', 'is', null)
      .where((eb) =>
        eb.or([eb('s.value', 'is', null), eb('s.value', '!=', sql<string>`cast(keys.expires_at as text)`)]),
      )
      .orderBy('keys.expires_at')
      .limit(limit)
      .execute();
  }
}
