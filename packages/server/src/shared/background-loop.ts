/** A piece of background work done in steps. */
export interface Tickable {
  tick(): Promise<unknown>;
}

/** What a {@link BackgroundLoop} needs. */
export interface BackgroundLoopOptions {
  /** Real time between two rounds, in ms. */
  intervalMs: number;
  /** Told of a failed step; the loop carries on. */
  onError: (error: unknown, worker: string) => void;
}

/**
 * Runs named workers one after another, round after round, on a real timer; a round never overlaps
 * the previous one. Tests leave it stopped and call the workers' `tick()` by hand.
 */
export class BackgroundLoop {
  readonly #workers: [string, Tickable][];
  readonly #o: BackgroundLoopOptions;
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> = Promise.resolve();
  #stopped = true;

  constructor(workers: [string, Tickable][], options: BackgroundLoopOptions) {
    this.#workers = workers;
    this.#o = options;
  }

  /** Starts the rounds. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule();
  }

  /** Stops after the running round. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#round;
  }

  /** Runs one round now. */
  runOnce(): Promise<void> {
    this.#round = this.#round.then(async () => {
      for (const [name, worker] of this.#workers) {
        try {
          await worker.tick();
        } catch (e) {
          this.#o.onError(e, name);
        }
      }
    });
    return this.#round;
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      void this.runOnce().then(() => {
        if (!this.#stopped) this.#schedule();
      });
    }, this.#o.intervalMs);
    this.#timer.unref();
  }
}
