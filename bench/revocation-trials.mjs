// Shared by bench:propagation and bench:edge: a revoke on one keyroll process, timed until a verifier
// in another process (a second node, an edge) rejects the key. The watcher verifies every
// millisecond and stamps the rejection with the monotonic clock both processes share.
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile } from './bench-common.mjs';

/** An admin API caller on an in-process keyroll app (`app.inject`): throws on any answer ≥ 300. */
export function adminCaller(app, rootKey) {
  const headers = { authorization: `Bearer ${rootKey}` };
  return async (method, path, payload) => {
    const res = await app.inject({ method, url: path, headers, payload });
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${res.body}`);
    return res.json();
  };
}

/** A function that resolves with the child's next message of a given `type`. */
export function nextMessage(child) {
  return (type) =>
    new Promise((resolve) => {
      const on = (m) => {
        if (m.type !== type) return;
        child.off('message', on);
        resolve(m);
      };
      child.on('message', on);
    });
}

/**
 * The watching side (in the child): once `key` verifies, says `ready`; then verifies it every
 * millisecond and says `rejected` with the monotonic instant it was first refused as REVOKED.
 *
 * A poll alone stamps the rejection up to one poll interval (`sleep(1)`: 1–2 ms on a busy machine)
 * after the watcher could first have been refused. With `onApplied` — a function that registers a
 * callback the watcher's process calls right after its verifier applied a change, and returns an
 * unregister function — the key is also verified at once after every applied change, so the stamp
 * is when a request arriving at that moment is refused (the verify includes the storage read a
 * dropped cache entry costs). The poll stays, so a rejection that comes another way is still seen.
 */
export async function watchRevocation(verifier, key, { onApplied } = {}) {
  while ((await verifier.verify(key)).code !== 'VALID') await sleep(1);
  let rejectedAt = null;
  const check = async () => {
    const { code } = await verifier.verify(key);
    if (code === 'REVOKED' && rejectedAt === null) rejectedAt = process.hrtime.bigint();
  };
  const unregister = onApplied?.(() => void check());
  process.send({ type: 'ready' });
  try {
    while (rejectedAt === null) {
      await check();
      if (rejectedAt === null) await sleep(1);
    }
  } finally {
    unregister?.();
  }
  process.send({ type: 'rejected', at: String(rejectedAt) });
}

/**
 * The revoking side: `trials` times, creates a key for `consumerId`, has `child` watch it, revokes
 * it, and measures until the child rejects it — from the revoke request's start and from its answer.
 */
export async function revocationTrials({ call, child, consumerId, trials }) {
  const next = nextMessage(child);
  const fromRequest = [];
  const fromResponse = [];
  for (let i = 0; i < trials; i++) {
    const created = await call('POST', '/v1/keys', { consumerId });
    const ready = next('ready');
    child.send({ type: 'watch', key: created.key });
    await ready;
    const rejected = next('rejected');
    const t0 = process.hrtime.bigint();
    await call('POST', `/v1/keys/${created.id}/revoke`, {});
    const t1 = process.hrtime.bigint();
    const at = BigInt((await rejected).at);
    fromRequest.push(Number(at - t0) / 1e6);
    fromResponse.push(Math.max(0, Number(at - t1) / 1e6));
  }
  return { fromRequest: latencyStats(fromRequest), fromResponse: latencyStats(fromResponse) };
}

/** p50/p90/p99/max of milliseconds, to 0.01 ms (all `null` without samples). */
export function latencyStats(ms) {
  if (ms.length === 0) return { p50: null, p90: null, p99: null, max: null };
  const s = [...ms].sort((x, y) => x - y);
  const r = (v) => Number(v.toFixed(2));
  return { p50: r(percentile(s, 50)), p90: r(percentile(s, 90)), p99: r(percentile(s, 99)), max: r(s[s.length - 1]) };
}

/** Prints the latency table: one row per `[label, stats]`. */
export function printLatencies(rows) {
  console.log('measured from                        p50 ms    p90 ms    p99 ms    max ms');
  for (const [label, s] of rows) {
    console.log(
      `${label.padEnd(34)} ${String(s.p50).padStart(8)}  ${String(s.p90).padStart(8)}  ${String(s.p99).padStart(8)}  ${String(s.max).padStart(8)}`,
    );
  }
}
