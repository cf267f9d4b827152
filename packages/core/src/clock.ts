/** Source of the current time in epoch milliseconds; injected everywhere so tests move time by hand. */
export interface Clock {
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };
