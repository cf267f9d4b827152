import type { BuiltClient } from './built-client.js';

type Timers = NonNullable<Parameters<BuiltClient['createClient']>[0]['timers']>;

/** Timers that fire only when the test moves time with {@link ManualTimers.advance}. */
export class ManualTimers implements Timers {
  #now: number;
  #pending: { at: number; fn: () => void; id: number }[] = [];
  #nextId = 0;
  /** What `random()` returns (jitter); tests set it. */
  randomValue = 0.5;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  random(): number {
    return this.randomValue;
  }

  schedule(fn: () => void, ms: number): () => void {
    const id = this.#nextId++;
    this.#pending.push({ at: this.#now + ms, fn, id });
    return () => {
      this.#pending = this.#pending.filter((t) => t.id !== id);
    };
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.#pending.length;
  }

  /** When the next timer fires, if one waits. */
  get nextAt(): number | undefined {
    return this.#pending.length === 0 ? undefined : Math.min(...this.#pending.map((t) => t.at));
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      this.#pending.sort((a, b) => a.at - b.at);
      const next = this.#pending[0];
      if (!next || next.at > target) break;
      this.#pending.shift();
      this.#now = next.at;
      next.fn();
    }
    this.#now = target;
  }
}
