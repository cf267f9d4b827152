import type { Clock } from '@keyroll/core';
import { listKeysDueExpiryNotice, recordExpiryNotice, type Store } from '@keyroll/storage';

/** What an {@link ExpiryNotifier} needs. */
export interface ExpiryNotifierOptions {
  store: Store;
  clock: Clock;
  /** How long before a key's expiry `key.expiring` is announced. */
  noticeMs: number;
  /** Keys announced per call (default 500). */
  batchSize?: number;
}

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
    const until = now + this.#o.noticeMs;
    if ((await listKeysDueExpiryNotice(this.#o.store.db, now, until, 1)).length === 0) return 0;
    return this.#o.store.mutate(async (tx) => {
      const due = await listKeysDueExpiryNotice(tx.db, now, until, this.#o.batchSize ?? 500);
      for (const k of due) {
        const expiresAt = k.expiresAt;
        await tx.audit({
          at: now,
          actor: 'system:monitoring',
          action: 'key.expiring',
          targetType: 'key',
          targetId: k.id,
          data: {
            consumerId: k.consumerId,
            name: k.name,
            hint: k.hint,
            expiresAt: new Date(expiresAt).toISOString(),
          },
        });
        await recordExpiryNotice(tx.db, k.id, expiresAt, now);
      }
      return due.length;
    });
  }
}
