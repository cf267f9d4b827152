import { type Duration, toMilliseconds } from './duration.js';
import { KeyrollClientError } from './keyroll-client-error.js';
import { MAX_TIMER_MS, type Timers } from './timers.js';

/** The `autoRotate` option: roll the key at the age `every`, up to `jitter` earlier (default a tenth of `every`). */
export interface AutoRotateOptions {
  every: Duration;
  jitter?: Duration;
  /** Grace period of each rotation (default: the server's policy). */
  gracePeriod?: Duration;
}

/** What {@link scheduleAutoRotate} drives. */
export interface AutoRotateSchedule {
  options: AutoRotateOptions;
  timers: Timers;
  /** When the key in use was created, if it can be learned; the first rotation counts from there. */
  keyCreatedAt(): Promise<number | undefined>;
  /** Rotates once. */
  rotate(): Promise<void>;
  onError(error: unknown): void;
}

/** After a failed automatic rotation, try again this much later (at most). */
const RETRY_MS = 60_000;

/**
 * Runs `rotate` whenever the key reaches the age `every` minus a random part of `jitter`, counted
 * from the key's creation (so a process restarted every day still rotates), then from each
 * rotation. Throws `INVALID_OPTIONS` for bad durations; returns a function that stops it.
 */
export function scheduleAutoRotate(s: AutoRotateSchedule): () => void {
  const every = toMilliseconds(s.options.every);
  if (every === null || every <= 0)
    throw new KeyrollClientError('INVALID_OPTIONS', 'autoRotate.every must be a duration');
  const jitter = s.options.jitter === undefined ? every / 10 : toMilliseconds(s.options.jitter);
  if (jitter === null || jitter > every) {
    throw new KeyrollClientError('INVALID_OPTIONS', 'autoRotate.jitter must be a duration no longer than every');
  }
  const { timers } = s;
  let stopped = false;
  let cancel: () => void = () => undefined;
  const nextDue = (from: number): number => from + every - timers.random() * jitter;
  const arm = (dueAt: number): void => {
    if (stopped) return;
    cancel = timers.schedule(
      () => {
        // Timers cannot wait longer than MAX_TIMER_MS (about 24.8 days): long waits are chained.
        if (timers.now() < dueAt) return arm(dueAt);
        s.rotate().then(
          () => arm(nextDue(timers.now())),
          (e: unknown) => {
            s.onError(e);
            arm(timers.now() + Math.min(every, RETRY_MS));
          },
        );
      },
      Math.min(Math.max(0, dueAt - timers.now()), MAX_TIMER_MS),
    );
  };
  s.keyCreatedAt().then(
    (createdAt) => arm(nextDue(createdAt ?? timers.now())),
    (e: unknown) => {
      s.onError(e);
      arm(nextDue(timers.now()));
    },
  );
  return () => {
    stopped = true;
    cancel();
  };
}
