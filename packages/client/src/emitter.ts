/** A minimal typed event emitter that runs in any runtime (no `node:events`); a throwing listener never breaks the client. */
export class Emitter<Events extends Record<string, unknown>> {
  readonly #listeners: { [E in keyof Events]?: Set<(payload: Events[E]) => void> } = {};

  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof Events>(event: E, listener: (payload: Events[E]) => void): () => void {
    const set = this.#listeners[event] ?? new Set();
    this.#listeners[event] = set;
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Removes a listener. */
  off<E extends keyof Events>(event: E, listener: (payload: Events[E]) => void): void {
    this.#listeners[event]?.delete(listener);
  }

  /** Calls every listener of `event`; returns whether there was one. */
  emit<E extends keyof Events>(event: E, payload: Events[E]): boolean {
    const set = this.#listeners[event];
    if (!set || set.size === 0) return false;
    for (const listener of [...set]) {
      try {
        listener(payload);
      } catch {
        // A listener's bug must not stop a rotation half way; the client has no logger to report it to.
      }
    }
    return true;
  }

  /** Removes every listener. */
  clear(): void {
    for (const set of Object.values(this.#listeners)) set?.clear();
  }
}
