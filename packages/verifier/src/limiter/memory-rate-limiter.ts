import { hasRoom, type LimitCounter, type RateLimiter } from './rate-limiter.js';

interface Slot {
  used: number;
  resetsAt: number;
}

/** How often windows that have ended are dropped. */
const SWEEP_EVERY_MS = 60_000;

/**
 * Node-local counters in a Map: exact on one node; with N nodes each node counts on its own, so a
 * cluster admits at most N × limit per window (see docs/limits.md).
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #slots = new Map<string, Slot>();
  #nextSweep = 0;

  async consume(counters: readonly LimitCounter[], cost: number, now: number) {
    this.#sweep(now);
    const slots = counters.map((c) => this.#slot(c, now));
    const allowed = counters.every((c, i) => hasRoom(slots[i]?.used ?? 0, c.limit, cost));
    if (allowed) for (const s of slots) s.used += cost;
    return { allowed, used: slots.map((s) => s.used) };
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
