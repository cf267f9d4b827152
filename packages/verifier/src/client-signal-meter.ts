import { recordClientSignals, type Store } from '@keyroll/storage';
import { ClientSignalTally, type ClientSignalTallyOptions } from './client-signal-tally.js';
import type { VerificationEvent, VerificationObserver } from './observer.js';

/** What a {@link ClientSignalMeter} needs. */
export interface ClientSignalMeterOptions extends ClientSignalTallyOptions {
  store: Store;
  /** How often signals are written, in ms (0: only on {@link ClientSignalMeter.flush}). */
  flushIntervalMs: number;
}

/**
 * Writes a node's client signals ({@link ClientSignalTally}: unknown keys per address and minute,
 * recent clients of every key) to storage on a timer. Memory is bounded between flushes and
 * storage is bounded per key.
 */
export class ClientSignalMeter implements VerificationObserver {
  readonly readsDuration = false;
  readonly #store: Store;
  readonly #tally: ClientSignalTally;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(options: ClientSignalMeterOptions) {
    this.#store = options.store;
    this.#tally = new ClientSignalTally(options);
    if (options.flushIntervalMs > 0) {
      this.#timer = setInterval(() => void this.flush().catch(() => undefined), options.flushIntervalMs);
      this.#timer.unref();
    }
  }

  observe(e: VerificationEvent): void {
    this.#tally.observe(e);
  }

  /** Writes the signals gathered so far; concurrent calls run one after another. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.catch(() => undefined).then(() => this.#flushNow());
    return this.#flushing;
  }

  async #flushNow(): Promise<void> {
    if (this.#tally.empty) return;
    // Signals are best effort: on a storage error they are dropped, never retried without bound.
    await recordClientSignals(this.#store.db, this.#tally.take());
  }

  /** Stops the timer and flushes what is left. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.flush();
  }
}
