/**
 * Polls `check` in real time, bounded, until it returns something other than `false`/`undefined`,
 * and returns that: for things that happen on their own schedule (a NOTIFY, a poll, a worker, a
 * child process). Never a way to let time pass: tests that need time inject a clock.
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  what = 'the condition',
  timeoutMs = 15_000,
): Promise<Exclude<T, false | undefined>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as Exclude<T, false | undefined>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
