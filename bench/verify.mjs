// bench:verify — in-process verification of cached keys against the raw floor (one SHA-256 plus
// one Map lookup per key), same keys, same random order, same run. Many short rounds interleave
// the targets so that the load of a shared machine hits them alike; the ratio reported is the
// median of the per-round ratios, the rates the medians of the rounds.
//
//   npm run bench:verify                       (builds first)
//   BENCH_KEYS=1000 BENCH_MS=200 BENCH_ROUNDS=30 node bench/verify.mjs
//
// DESIGN target: in-process verification of a cached key ≥ 0.9 × floor, judged on `verifyNow` (which
// answers a cached key synchronously, like the floor); `await verify()` is printed beside it against
// the floor behind an awaited promise.
import os from 'node:os';
import { UsageMeter } from '@keyroll/verifier/internal';
import {
  awaitedFloor,
  cachedVerifier,
  floorMap,
  floorRate,
  loadAverageLine,
  machine,
  makeKeys,
  median,
  randomOrder,
  verifyNowRate,
  verifyRate,
} from './cached-keys.mjs';

const KEYS = Number(process.env.BENCH_KEYS ?? 1000);
const MS = Number(process.env.BENCH_MS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const TARGET = 0.9; // DESIGN: in-process verification of a cached key ≥ 0.9 × the raw floor

const { keys, rows } = makeKeys(KEYS);
const order = randomOrder(KEYS, 100_000);
const floor = floorMap(rows);
const plain = await cachedVerifier(rows);
const metered = await cachedVerifier(rows);
// Usage metering as the server runs it (in-memory counts; the periodic flush is left out of the loop).
const usage = new UsageMeter({ store: metered.store, flushIntervalMs: 0 });
metered.verifier.addObserver(usage);

// Warm-up: let the JIT settle on every path.
floorRate(floor, keys, order, 300);
verifyNowRate(plain.verifier, keys, order, 300);
await verifyRate(plain.verifier, keys, order, 300);
verifyNowRate(metered.verifier, keys, order, 300);

const floorAwaited = awaitedFloor(floor);

const runs = { floor: [], floorAwaited: [], verifyNow: [], verify: [], metered: [] };
for (let r = 0; r < ROUNDS; r++) {
  runs.floor.push(floorRate(floor, keys, order, MS));
  runs.floorAwaited.push(await verifyRate(floorAwaited, keys, order, MS));
  runs.verifyNow.push(verifyNowRate(plain.verifier, keys, order, MS));
  runs.verify.push(await verifyRate(plain.verifier, keys, order, MS));
  runs.metered.push(verifyNowRate(metered.verifier, keys, order, MS));
}
const result = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, Math.round(median(v))]));
const ratioOf = (a, b) => median(runs[a].map((v, i) => v / runs[b][i]));
const ratio = ratioOf('verifyNow', 'floor');
const meteredRatio = ratioOf('metered', 'floor');
const awaitedRatio = ratioOf('floorAwaited', 'floor');
const vsAwaited = ratioOf('verify', 'floorAwaited');

console.log(`\nbench:verify — ${KEYS} cached keys, ${ROUNDS} rounds × ${MS} ms per target, medians of rounds`);
console.log(`machine: ${machine()}\n`);
console.log('target                                        verifications/s   µs each');
for (const [name, label] of [
  ['floor', 'floor: SHA-256 + Map.get'],
  ['floorAwaited', 'floor behind an awaited promise'],
  ['verifyNow', 'verifier.verifyNow (cache hit)'],
  ['verify', 'await verifier.verify (cache hit)'],
  ['metered', 'verifier.verifyNow + usage metering'],
]) {
  console.log(
    `${label.padEnd(45)} ${String(result[name]).padStart(15)}   ${(1e6 / result[name]).toFixed(2).padStart(7)}`,
  );
}
console.log(
  `\nverifyNow / floor:           ${ratio.toFixed(3)} (target ≥ ${TARGET}) ${ratio >= TARGET ? 'PASS' : 'FAIL'}`,
);
console.log(`verifyNow+metering / floor:  ${meteredRatio.toFixed(3)}`);
console.log(`awaited floor / floor:       ${awaitedRatio.toFixed(3)} (the price of a Promise-returning API)`);
console.log(`verify / awaited floor:      ${vsAwaited.toFixed(3)}`);
console.log(loadAverageLine());
console.log(
  JSON.stringify({
    bench: 'verify',
    keys: KEYS,
    roundMs: MS,
    rounds: ROUNDS,
    opsPerSec: result,
    ratio: Number(ratio.toFixed(3)),
    meteredRatio: Number(meteredRatio.toFixed(3)),
    awaitedFloorRatio: Number(awaitedRatio.toFixed(3)),
    verifyVsAwaitedFloor: Number(vsAwaited.toFixed(3)),
    loadavg: os.loadavg().map((l) => Number(l.toFixed(1))),
    target: TARGET,
    pass: ratio >= TARGET,
    machine: machine(),
  }),
);
await usage.close().catch(() => undefined);
await plain.store.close();
await metered.store.close();
