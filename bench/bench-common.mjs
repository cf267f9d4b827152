// Shared by every benchmark (no package imports, so it loads on its own): the machine, the load, medians,
// orders, the floors' hash, the rate loops and the key records seeded straight into storage.
import { fork } from 'node:child_process';
import { createHash, hash } from 'node:crypto';
import os from 'node:os';

/**
 * SHA-256 as hex the fastest way Node offers (the one-shot `crypto.hash`, which keyroll's `hashKey`
 * uses too): what every floor hashes with, so no floor is slower than the product's own hashing.
 */
export const sha256 = (text) => hash('sha256', text, 'hex');

/**
 * SHA-256 through a `Hash` object (`createHash().update().digest()`), the floors' hash until
 * 2026-11-29: printed beside the floor so that results can be compared with earlier ones.
 */
export const sha256Streamed = (text) => createHash('sha256').update(text).digest('hex');

/** The machine, for the results table. */
export function machine() {
  const cpus = os.cpus();
  return `${cpus[0]?.model?.trim() ?? 'cpu'} × ${cpus.length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

/** The load average line every benchmark prints (its numbers depend on what else the machine does). */
export function loadAverageLine() {
  return `load average: ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} on ${os.cpus().length} CPUs`;
}

/** Median of numbers. */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** A random visiting order of `n` keys, `length` long. */
export function randomOrder(n, length) {
  const order = new Uint32Array(length);
  for (let i = 0; i < length; i++) order[i] = Math.floor(Math.random() * n);
  return order;
}

/** `floor` behind an awaited promise, as a verifier: what any asynchronous API costs on top of it. */
export function awaitedFloor(floor) {
  return { verify: async (key) => ({ code: floor(key) !== undefined ? 'VALID' : 'NOT_FOUND' }) };
}

/** The `p`-th percentile of ascending `sorted` numbers (nearest rank). */
export function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Verifications per second over `order` (indices into `keys`) for about `ms` milliseconds; each must be VALID. */
export async function verifyRate(verifier, keys, order, ms) {
  let done = 0;
  let i = 0;
  const started = performance.now();
  let now = started;
  while (now - started < ms) {
    for (let j = 0; j < 1000; j++) {
      const r = await verifier.verify(keys[order[i]], { scopes: ['read'] });
      if (r.code !== 'VALID') throw new Error(`unexpected ${r.code}`);
      i = i + 1 === order.length ? 0 : i + 1;
    }
    done += 1000;
    now = performance.now();
  }
  return done / ((now - started) / 1000);
}

/**
 * Like {@link verifyRate} through `verifier.verifyNow`, the synchronous answer for a cached key, in
 * the floor's loop (a call through a closure, like the floor's): anything but `VALID` at once — a
 * promise back (a miss) included — fails the run.
 */
export function verifyNowRate(verifier, keys, order, ms) {
  return floorRate(
    (key) => (verifier.verifyNow(key, { scopes: ['read'] }).code === 'VALID' ? true : undefined),
    keys,
    order,
    ms,
  );
}

/** Floor lookups per second over the same keys, same order; each must be found. */
export function floorRate(lookup, keys, order, ms) {
  let done = 0;
  let i = 0;
  const started = performance.now();
  let now = started;
  while (now - started < ms) {
    for (let j = 0; j < 1000; j++) {
      if (lookup(keys[order[i]]) === undefined) throw new Error('floor miss');
      i = i + 1 === order.length ? 0 : i + 1;
    }
    done += 1000;
    now = performance.now();
  }
  return done / ((now - started) / 1000);
}

/** The `i`-th of a consumer's keys as storage's `insertKeysUnlogged` takes it (scopes read and trade, no limits). */
export function keyRecord(i, consumerId, hash, now) {
  const id = `key_bench${i.toString(36).padStart(12, '0')}`;
  return {
    id,
    consumerId,
    name: 'default',
    hash,
    hint: 'kr_live_…bnch',
    prefix: 'kr_live',
    version: 1,
    predecessorId: null,
    lineageId: id,
    scopes: ['read', 'trade'],
    metadata: {},
    allowedIps: null,
    rateLimit: null,
    quota: null,
    planId: null,
    createdAt: now,
    updatedAt: now,
    expiresAt: null,
    retiresAt: null,
    revokedAt: null,
    revokeReason: null,
    lastUsedAt: null,
  };
}

/** Forks this script with `args` (its role first); resolves with the child and the first message it sends. */
export function startChild(args) {
  const child = fork(process.argv[1], args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, info: m }));
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
}

/**
 * In a child started by {@link startChild}: sends `info`, answers `'cpu'` with its CPU usage and each
 * message named in `replies` with what that function returns, and on `'stop'` awaits `close` and exits.
 */
export function serveDriver(info, close, replies = {}) {
  process.send(info);
  process.on('message', async (m) => {
    if (m === 'cpu') return process.send({ cpu: process.cpuUsage() });
    if (Object.hasOwn(replies, m)) return process.send(replies[m]());
    if (m !== 'stop') return;
    await close();
    process.exit(0);
  });
}
