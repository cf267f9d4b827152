/** How a counter gives units back over time (a quota that refills); see `quota-refill.ts`. */
export interface CounterRefill {
  /** Units given back at each refill. */
  amount: number;
  /** The refill interval holding the request's time (refills since the last charge = the difference). */
  index: number;
  /** The longest one interval can last, in ms (bounds how long an idle counter must be kept). */
  intervalMs: number;
}

/** The `resetsAt` of a counter that never starts from 0 (finite, so a counter survives JSON). */
export const NEVER_RESETS = Number.MAX_SAFE_INTEGER;

/**
 * One counter a request is charged against: at most `limit` units until `resetsAt`, then it starts
 * from 0; with `refill`, units used also come back `amount` at a time at each refill in between.
 */
export interface LimitCounter {
  /** Names the counter and its window, e.g. `key_…:rl:60000:1767225600000`; a new window is a new id. */
  id: string;
  /** Shards counters that are charged together (the consumer id), so a Redis Cluster keeps them on one node. */
  group: string;
  limit: number;
  /** Units this request takes from the counter (0 asks without charging). */
  cost: number;
  /** Epoch ms at which the window ends; {@link NEVER_RESETS} for a refilling counter without a period. */
  resetsAt: number;
  /** Refills of a quota that refills; absent for rate windows and plain quota periods. */
  refill?: CounterRefill;
}

/** The outcome of charging a request against its counters. */
export interface ConsumeResult {
  allowed: boolean;
  /** Units used in each counter after the request (unchanged when it was rejected), in the given order. */
  used: number[];
}

/**
 * The rate-limit port: charges a request against several counters (rate windows and quota periods of
 * the key and of its consumer) all or nothing, so a rejected request consumes nothing. A request is
 * allowed when every counter has room for its cost (a cost of 0 asks without charging and is allowed
 * while the counter has room left). One file per backend: memory (node-local), redis (cluster-wide).
 */
export interface RateLimiter {
  consume(counters: readonly LimitCounter[], now: number): Promise<ConsumeResult>;
  /** Releases connections; the limiter is unusable afterwards. */
  close(): Promise<void>;
  /** Whether the shared store the counters live in answers now; absent where counting is in-process (always can). */
  reachable?(): Promise<boolean>;
}

/** True when a counter at `used` may take a request of `cost` units. */
export function hasRoom(used: number, limit: number, cost: number): boolean {
  return used + cost <= limit && used < limit;
}
