// What a view leaves running (polling) is stopped when the next view is shown.

/** Callbacks to run when the current view is left. */
const leaving = [];

/** Runs `fn` when the current view is left. */
export function onLeave(fn) {
  leaving.push(fn);
}

/** Stops everything the current view left running; called by the router before it shows a view. */
export function leaveView() {
  for (const fn of leaving.splice(0)) fn();
}

/**
 * Calls `fn` every `ms` milliseconds, each call after the previous one settled, until `fn` resolves to
 * false or the view is left.
 */
export function poll(ms, fn) {
  let timer;
  let stopped = false;
  const tick = async () => {
    const more = await fn().catch(() => true);
    if (more !== false && !stopped) timer = setTimeout(tick, ms);
  };
  onLeave(() => {
    stopped = true;
    clearTimeout(timer);
  });
  timer = setTimeout(tick, ms);
}
