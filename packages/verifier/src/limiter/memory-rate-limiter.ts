import { refilledUsed, refillKeepMs } from './quota-refill.js';
import { hasRoom, type LimitCounter, type RateLimiter } from './rate-limiter.js';

interface Slot {
  used: number;
  /** When the slot may be forgotten: its window ends, or (refilling) it would be full again anyway. */
  expiresAt: number;
  /** The refill interval the slot was last brought up to (refilling counters only). */
  refillIndex: number;
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
    if (allowed) for (const { counter, slot } of charged) charge(slot, counter, now);
    return { allowed, used: charged.map(({ slot }) => slot.used) };
  }

  async close(): Promise<void> {
    this.#slots.clear();
  }

  /** The counter's slot at `now`: fresh once expired, with the refills since its last charge applied. */
  #slot(counter: LimitCounter, now: number): Slot {
    let slot = this.#slots.get(counter.id);
    if (!slot || slot.expiresAt <= now) {
      slot = { used: 0, expiresAt: expiryOf(counter, 0, now), refillIndex: counter.refill?.index ?? 0 };
      this.#slots.set(counter.id, slot);
    }
    const refill = counter.refill;
    if (refill && refill.index > slot.refillIndex) {
      slot.used = refilledUsed(slot.used, slot.refillIndex, refill.index, refill.amount);
      slot.refillIndex = refill.index;
    }
    return slot;
  }

  #sweep(now: number): void {
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + SWEEP_EVERY_MS;
    for (const [id, slot] of this.#slots) if (slot.expiresAt <= now) this.#slots.delete(id);
  }
}

/**
 * When a slot at `used` may be forgotten: when its window ends, or for a refilling counter once it
 * would be full again (refills only give back, so a later refill never makes this later).
 */
function expiryOf(counter: LimitCounter, used: number, now: number): number {
  const r = counter.refill;
  return r ? Math.min(counter.resetsAt, now + refillKeepMs(used, r.amount, r.intervalMs)) : counter.resetsAt;
}

/** Takes the counter's cost from its slot. */
function charge(slot: Slot, counter: LimitCounter, now: number): void {
  if (counter.cost === 0) return;
  slot.used += counter.cost;
  slot.expiresAt = expiryOf(counter, slot.used, now);
}
