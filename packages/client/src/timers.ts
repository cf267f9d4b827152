/** Time and timers the client uses; injected so tests move time by hand instead of sleeping. */
export interface Timers {
  now(): number;
  /** Runs `fn` after `ms` milliseconds; returns a function that cancels it. */
  schedule(fn: () => void, ms: number): () => void;
  /** A number in [0, 1), for jitter. */
  random(): number;
}

/** Longest delay setTimeout takes without firing at once (2^31 - 1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 2_147_483_647;

/** The real clock and timers; timers are unref'd where the runtime allows, so they never keep a process alive. */
export const systemTimers: Timers = {
  now: () => Date.now(),
  schedule: (fn, ms) => {
    const handle = setTimeout(fn, Math.min(ms, MAX_TIMER_MS));
    if (typeof handle === 'object' && typeof handle.unref === 'function') handle.unref();
    return () => clearTimeout(handle);
  },
  random: () => Math.random(),
};
