import { hasRoom, type LimitCounter, type RateLimiter } from './rate-limiter.js';

interface Slot {
  used: number;
  resetsAt: number;
}

/** How often windows that have ended are dropped. */
const SWEEP_EVERY_MS = 60_000;

/**
 * Node-local counters in a Map: exact on one node; with N nodes each node counts on its own, so a
 * cluster admits at most N × limit per window (see docs/guides/limits.md).
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #slots = new Map<string, Slot>();
  #nextSweep = 0;

  async consume(counters: readonly LimitCounter[], now: number) {
    this.#sweep(now);
    const charged = counters.map((counter) => ({ counter, slot: this.#slot(counter, now) }));
    const allowed = charged.every(({ counter, slot }) => hasRoom(slot.used, counter.limit, counter.cost));
    if (allowed) for (const { counter, slot } of charged) slot.used += counter.cost;
    return { allowed, used: charged.map(({ slot }) => slot.used) };
  }

  async close(): Promise<void> {
    this.#slots.clear();
  }

  #slot(counter: LimitCounter, now: number): Slot {
    let slot = this.#slots.get(counter.id);
    if (!slot || slot.resetsAt <= now) {
      slot = { used: 0, resetsAt: counter.resetsAt };
      this.#slots.set(counter.id, slot);
    }
    return slot;
  }

  #sweep(now: number): void {
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + SWEEP_EVERY_MS;
    for (const [id, slot] of this.#slots) if (slot.resetsAt <= now) this.#slots.delete(id);
  }
}
