// bench:scale — verification throughput and memory per cached key at 1k vs 1M cached keys.
// Keys are verified in a random order over the whole set (so the large cache does not sit in the
// CPU caches); many short rounds interleave the two sizes and the ratio is the median of the
// per-round ratios. Memory is the heap growth of filling the cache, after a full GC, per key.
//
//   npm run bench:scale                              (builds first)
//   BENCH_SCALE_KEYS=200000 BENCH_MS=200 BENCH_ROUNDS=20 node --expose-gc bench/scale.mjs
//
// DESIGN: lookups flat in the number of keys up to the machine's memory latency, the bare floor
// reported beside it. Read here as: going from 1k to 1M keys, verification (`verifyNow`, synchronous
// like the floor) keeps ≥ 0.9 of the share of its rate that the bare floor keeps (until 2026-11-29
// this bench asked 1M ≥ 0.9 × 1k of verification alone, which the floor itself misses: 0.52).
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { generateKey } from '@keyroll/core';
import { decodeKey } from '@keyroll/storage';
import { cachedKeyFromRecord } from '@keyroll/verifier/internal';
import {
  emptyVerifier,
  floorRate,
  keyRow,
  loadAverageLine,
  machine,
  median,
  randomOrder,
  sha256,
  verifyNowRate,
} from './cached-keys.mjs';

if (typeof globalThis.gc !== 'function') {
  // Memory is only measurable after a full collection.
  const child = spawnSync(process.execPath, ['--expose-gc', ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(child.status ?? 1);
}

const SMALL = 1000;
const LARGE = Number(process.env.BENCH_SCALE_KEYS ?? 1_000_000);
const MS = Number(process.env.BENCH_MS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const TARGET = 0.9;

function heap() {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

/** A verifier holding `n` cached keys, the secrets to present, and the heap bytes per cached key. */
async function filled(n) {
  const keys = new Array(n);
  const secrets = [];
  const { verifier, lookup, store } = await emptyVerifier(n);
  // The secrets are the clients' and stay outside the measurement; the cache holds the rest.
  for (let i = 0; i < n; i++) secrets.push(generateKey('kr_live'));
  const before = heap();
  const now = Date.now();
  for (let i = 0; i < n; i++) lookup.cache.setKey(cachedKeyFromRecord(decodeKey(keyRow(i, secrets[i], now))));
  const bytesPerKey = (heap() - before) / n;
  // The floor over the same keys: one SHA-256 and one Map.get, as large a Map.
  const floorMap = new Map();
  for (let i = 0; i < n; i++) {
    keys[i] = secrets[i].key;
    floorMap.set(secrets[i].hash, i);
  }
  secrets.length = 0;
  const floor = (key) => floorMap.get(sha256(key));
  return { verifier, store, keys, bytesPerKey, floor };
}

const started = performance.now();
const small = await filled(SMALL);
const large = await filled(LARGE);
const fillSeconds = (performance.now() - started) / 1000;
const orderSmall = randomOrder(SMALL, 200_000);
const orderLarge = randomOrder(LARGE, 200_000);

verifyNowRate(small.verifier, small.keys, orderSmall, 300);
verifyNowRate(large.verifier, large.keys, orderLarge, 300);
const runs = { small: [], large: [], floorSmall: [], floorLarge: [] };
for (let r = 0; r < ROUNDS; r++) {
  runs.small.push(verifyNowRate(small.verifier, small.keys, orderSmall, MS));
  runs.large.push(verifyNowRate(large.verifier, large.keys, orderLarge, MS));
  runs.floorSmall.push(floorRate(small.floor, small.keys, orderSmall, MS));
  runs.floorLarge.push(floorRate(large.floor, large.keys, orderLarge, MS));
}
const rate = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, Math.round(median(v))]));
const ratio = median(runs.large.map((v, i) => v / runs.small[i]));
const floorRatio = median(runs.floorLarge.map((v, i) => v / runs.floorSmall[i]));
// Per round: the share verification keeps over the share the floor keeps.
const flatness = median(runs.large.map((v, i) => v / runs.small[i] / (runs.floorLarge[i] / runs.floorSmall[i])));
const rss = process.memoryUsage().rss;

console.log(
  `\nbench:scale — ${ROUNDS} rounds × ${MS} ms per size, medians of rounds (fill took ${fillSeconds.toFixed(1)} s)`,
);
console.log(`machine: ${machine()}\n`);
console.log('cached keys     verifications/s   floor (SHA-256 + Map.get)/s   heap bytes per cached key');
for (const [name, floorName, n, r] of [
  ['small', 'floorSmall', SMALL, small],
  ['large', 'floorLarge', LARGE, large],
]) {
  console.log(
    `${String(n).padStart(11)}     ${String(rate[name]).padStart(15)}   ${String(rate[floorName]).padStart(27)}   ${Math.round(r.bytesPerKey).toString().padStart(9)}`,
  );
}
console.log(`\n${LARGE} / ${SMALL} keys, verification: ${ratio.toFixed(3)}`);
console.log(
  `${LARGE} / ${SMALL} keys, bare floor:   ${floorRatio.toFixed(3)} (the cost of random memory access alone)`,
);
console.log(
  `verification's share / the floor's: ${flatness.toFixed(3)} (target ≥ ${TARGET}) ${flatness >= TARGET ? 'PASS' : 'FAIL'}`,
);
console.log(`process RSS at the end: ${Math.round(rss / 2 ** 20)} MiB`);
console.log(loadAverageLine());
console.log(
  JSON.stringify({
    bench: 'scale',
    keys: { small: SMALL, large: LARGE },
    opsPerSec: rate,
    bytesPerKey: { small: Math.round(small.bytesPerKey), large: Math.round(large.bytesPerKey) },
    ratio: Number(ratio.toFixed(3)),
    floorRatio: Number(floorRatio.toFixed(3)),
    flatness: Number(flatness.toFixed(3)),
    target: TARGET,
    pass: flatness >= TARGET,
    rounds: ROUNDS,
    loadavg: os.loadavg().map((l) => Number(l.toFixed(1))),
    roundMs: MS,
    machine: machine(),
  }),
);
await small.store.close();
await large.store.close();
