import { type Db, readChangeLogHead } from '@keyroll/storage';

/**
 * One poll of the change-log head per node, shared by every open change stream: a stream reads its
 * rows only when the head has moved past its position, so many idle edges cost one query per tick,
 * not one each. Polls only while a stream waits.
 */
export class HeadWatcher {
  readonly #db: Db;
  readonly #pollMs: number;
  #head = 0;
  #lastError = false;
  readonly #waiters = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;

  constructor(db: Db, pollMs = 25) {
    this.#db = db;
    this.#pollMs = pollMs;
  }

  /** The last head read, and whether that read failed. */
  get state(): { head: number; failed: boolean } {
    return { head: this.#head, failed: this.#lastError };
  }

  /** Resolves after the next poll (or at once when `wake` is called, e.g. the stream closed). */
  nextTick(): { promise: Promise<void>; wake: () => void } {
    let wake: () => void = () => undefined;
    const promise = new Promise<void>((resolve) => {
      wake = () => {
        this.#waiters.delete(wake);
        resolve();
      };
      this.#waiters.add(wake);
    });
    this.#ensurePolling();
    return { promise, wake };
  }

  #ensurePolling(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => void this.#poll(), this.#pollMs);
  }

  async #poll(): Promise<void> {
    try {
      this.#head = await readChangeLogHead(this.#db);
      this.#lastError = false;
    } catch {
      this.#lastError = true;
    }
    this.#timer = undefined;
    for (const wake of [...this.#waiters]) wake();
  }
}
