import { type Clock, systemClock } from '@keyroll/core';
import { type ChangeEntry, hasChangesUpTo, readChangeLogHead, readChangesAfter, type Store } from '@keyroll/storage';

/** One entry of the change log, as followers see it. */
export interface ChangeRecord extends Omit<ChangeEntry, 'kind'> {
  /** What changed, or {@link FEED_RESET}; a kind this version does not know (a newer node's) is passed on as it is. */
  kind: ChangeEntry['kind'] | typeof FEED_RESET;
}

/**
 * Kind of the change a follower hands its listeners when changes it had not applied yet were pruned
 * from the log (a node cut off for longer than the change retention): every cache must be dropped.
 */
export const FEED_RESET = 'feed.reset' as const;

/** Told of every change, in sequence order (e.g. `CachingKeyLookup.apply`). */
export type ChangeListener = (change: ChangeRecord) => void;

/** How a change feed is doing, for `/readyz` and `/v1/cluster`. */
export interface ChangeFeedStatus {
  mode: 'poll' | 'postgres-notify';
  /** The last sequence number applied to this node's cache. */
  appliedSeq: number;
  /** False while the change log cannot be read (or the PostgreSQL listener is down). */
  connected: boolean;
  lastError: string | null;
  /** Epoch ms of the last successful read of the change log. */
  lastReadAt: number | null;
}

/** The port: something that follows the change log and applies it, whatever the database. */
export interface ChangeFeed {
  /** The last sequence number applied. */
  readonly appliedSeq: number;
  /** Starts following from the current head (a fresh cache needs no history). */
  start(): Promise<void>;
  /** Reads and applies everything after {@link ChangeFeed.appliedSeq} now. */
  catchUp(): Promise<void>;
  status(): ChangeFeedStatus;
  /** Stops following; waits for a read under way. */
  close(): Promise<void>;
}

/** What every change feed is built from. */
export interface ChangeFeedOptions {
  store: Store;
  listeners: ChangeListener[];
  /** Called after a batch of changes has been applied, with the new applied sequence number. */
  onApplied?: (seq: number) => void;
  /** Poll interval (SQLite), or safety poll against missed notices (PostgreSQL). */
  pollMs?: number;
  /** Rows read per query while catching up (default 500). */
  batchSize?: number;
  /** A read of the log slower than this counts as storage being unreachable (default 2,000 ms). */
  readTimeoutMs?: number;
  clock?: Clock;
}

/** The sequence number of the newest change (0 for an empty log). */
export function changeLogHead(store: Store): Promise<number> {
  return readChangeLogHead(store.db);
}

/**
 * The part all feeds share: reads the change log after the applied sequence number, in order, and
 * hands each row to the listeners. Reads never overlap; a catch-up asked for during one runs once
 * more right after it, so nothing committed before the request is missed.
 */
export class ChangeFollower {
  #appliedSeq = 0;
  #started = false;
  #connected = false;
  #lastError: string | null = null;
  #lastReadAt: number | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  readonly #o: ChangeFeedOptions;
  readonly #clock: Clock;

  constructor(options: ChangeFeedOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** The last sequence number applied. */
  get appliedSeq(): number {
    return this.#appliedSeq;
  }

  /** Positions the follower at the current head of the log. */
  async start(): Promise<void> {
    this.#appliedSeq = await changeLogHead(this.#o.store);
    this.#started = true;
    this.#connected = true;
    this.#lastReadAt = this.#clock.now();
  }

  /**
   * Applies everything after the applied sequence number; never throws (failures show in the status).
   * Before {@link ChangeFollower.start} it does nothing: an unstarted follower has no position, and
   * replaying the whole log into an empty cache would only cost time (and fake propagation lags).
   */
  catchUp(): Promise<void> {
    if (!this.#started) return Promise.resolve();
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#loop().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  /**
   * Applies a change announced with its content (PostgreSQL's row notice) without reading the log,
   * when it is the very next one (`seq` = applied + 1): nothing can then be skipped or reordered.
   * Returns whether it was applied; otherwise (not started, a gap, already applied, a listener
   * failed) the caller falls back to {@link ChangeFollower.catchUp}. A read under way skips what
   * this applied, since it never applies a sequence number at or below the applied one.
   */
  applyAnnounced(change: ChangeRecord): boolean {
    if (!this.#started || change.seq !== this.#appliedSeq + 1) return false;
    try {
      for (const listener of this.#o.listeners) listener(change);
    } catch (e) {
      // As in a read: the change stays unapplied and the next catch-up hands it over again.
      this.#connected = false;
      this.#lastError = e instanceof Error ? e.message : String(e);
      return false;
    }
    this.#appliedSeq = change.seq;
    this.#o.onApplied?.(this.#appliedSeq);
    return true;
  }

  /** The status fields the follower knows. */
  state(): Pick<ChangeFeedStatus, 'appliedSeq' | 'connected' | 'lastError' | 'lastReadAt'> {
    return {
      appliedSeq: this.#appliedSeq,
      connected: this.#connected,
      lastError: this.#lastError,
      lastReadAt: this.#lastReadAt,
    };
  }

  /** Waits for a read under way. */
  async idle(): Promise<void> {
    await this.#running;
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      try {
        await this.#withTimeout(this.#readAll());
        this.#connected = true;
        this.#lastError = null;
        this.#lastReadAt = this.#clock.now();
      } catch (e) {
        this.#connected = false;
        this.#lastError = e instanceof Error ? e.message : String(e);
        return;
      }
    } while (this.#again);
  }

  // A query can hang when the database goes away mid-way; the feed must not hang with it.
  async #withTimeout(work: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('change log read timed out')), this.#o.readTimeoutMs ?? 2000);
    });
    try {
      await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #readAll(): Promise<void> {
    const batch = this.#o.batchSize ?? 500;
    for (;;) {
      const rows = await readChangesAfter(this.#o.store.db, this.#appliedSeq, batch);
      const first = rows[0];
      if (first && first.seq > this.#appliedSeq + 1 && (await this.#prunedPast(this.#appliedSeq))) {
        const reset: ChangeRecord = {
          seq: this.#appliedSeq,
          at: this.#clock.now(),
          kind: FEED_RESET,
          entityId: '',
          keyHash: null,
        };
        for (const listener of this.#o.listeners) listener(reset);
      }
      for (const change of rows) {
        // A read that timed out may still finish later; it must not move the sequence backwards.
        if (change.seq <= this.#appliedSeq) continue;
        for (const listener of this.#o.listeners) listener(change);
        this.#appliedSeq = change.seq;
      }
      if (rows.length > 0) this.#o.onApplied?.(this.#appliedSeq);
      if (rows.length < batch) return;
    }
  }

  /**
   * Whether changes after `seq` may have been pruned. The retention job deletes a prefix of the log
   * and keeps every change a live node has not applied, so while any row at or before `seq` is left
   * nothing after it was deleted; a gap after it is then only a sequence gap (a rolled-back insert).
   */
  async #prunedPast(seq: number): Promise<boolean> {
    return !(await hasChangesUpTo(this.#o.store.db, seq));
  }
}
