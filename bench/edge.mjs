// bench:edge — an edge verifier (createRemoteVerifier, in a child process) following a keyroll node
// (this process, SQLite in a temp dir, loopback HTTP):
//   (a) revocation: from the node's response to a revoke (and from the request's start) until the
//       edge rejects the key, which it verifies every millisecond; stamped with the monotonic clock
//       both processes share;
//   (b) snapshot: the edge's boot from the node's snapshot at 1M keys (seeded straight through
//       storage's insertKeysUnlogged): load time and the edge's memory per key after a full GC;
//   (c) lookups: the edge's lookups/s (keyroll's hashKey + the edge's key table, staleness check
//       included) vs the floor (one-shot SHA-256 + Map.get over a Map as large as the edge's table),
//       in interleaved rounds, over 1,000 keys in random order; beside it whole verifications
//       (decision, limits, usage counting): `verifyNow` vs the floor, `verify()` vs the floor behind
//       an awaited promise and vs the floor with a streamed `createHash` (this bench's floor until
//       2026-11-29), for comparison with earlier results.
//
//   npm run bench:edge                                   (builds first)
//   BENCH_EDGE_KEYS=100000 BENCH_TRIALS=200 BENCH_ROUNDS=20 BENCH_MS=200 node --expose-gc bench/edge.mjs
//   BENCH_TRIALS=0 BENCH_PROFILE=/tmp/edge.cpuprofile ...  (no revocation trials; a CPU profile of the
//                                                           edge's lookup rounds, for chrome://inspect)
//
// Targets (issue 13): revocation p99 ≤ 50 ms; ≤ 200 B/key and ≤ 10 s load at 1M keys; lookups ≥ 0.8 × floor
// both over the 1,000 keys and spread over every key.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import { join } from 'node:path';
import { generateKey, hashKey } from '@keyroll/core';
import { createKeyroll, loadConfig } from '@keyroll/server';
import { insertKeysUnlogged } from '@keyroll/storage';
import { createRemoteVerifier } from '@keyroll/verifier';
import {
  awaitedFloor,
  floorRate,
  keyRecord,
  loadAverageLine,
  machine,
  median,
  randomOrder,
  sha256,
  sha256Streamed,
  verifyNowRate,
  verifyRate,
} from './bench-common.mjs';
import { adminCaller, nextMessage, printLatencies, revocationTrials, watchRevocation } from './revocation-trials.mjs';

const role = process.argv[2] ?? 'main';
const KEYS = Number(process.env.BENCH_EDGE_KEYS ?? 1_000_000);
const KNOWN = 1000;
const TRIALS = Number(process.env.BENCH_TRIALS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const MS = Number(process.env.BENCH_MS ?? 200);
const TARGET = { p99Ms: 50, bytesPerKey: 200, loadSeconds: 10, lookupRatio: 0.8 };

/** The hash of the `i`-th filler key (no secret exists for it): the edge child recomputes it for the floor. */
const fillerHash = (i) => sha256(`bench-edge-filler-${i}`);

function heapAndExternal() {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external };
}

/** The edge: boots from the node, then measures what it is asked to. */
async function runEdge(url, token) {
  let edge;
  const known = [];
  process.on('message', async (msg) => {
    if (msg.type === 'load') {
      const before = heapAndExternal();
      const t0 = performance.now();
      // The lookup rounds hold the event loop for seconds at a time: a bound that long keeps them from
      // reading as staleness (the revocation trials measure the link itself).
      edge = await createRemoteVerifier({ url, token, usageFlushMs: 0, maxStalenessMs: 3_600_000 });
      const loadMs = performance.now() - t0;
      const after = heapAndExternal();
      const keys = edge.status().keys;
      process.send({
        type: 'loaded',
        loadMs,
        keys,
        heapPerKey: (after.heap - before.heap) / keys,
        externalPerKey: (after.external - before.external) / keys,
        rss: process.memoryUsage().rss,
      });
    } else if (msg.type === 'lookups') {
      known.push(...msg.keys);
      // The floor: one SHA-256 and one Map.get over as many hashes as the edge holds.
      const map = new Map();
      for (let i = 0; i < msg.fillers; i++) map.set(fillerHash(i), i);
      for (const k of known) map.set(sha256(k), k);
      const floor = (key) => map.get(sha256(key));
      const streamedFloor = (key) => map.get(sha256Streamed(key));
      const floorAwaited = awaitedFloor(floor);
      // The edge's own lookup: keyroll's hashKey and its key table (staleness check included); a
      // hash it does not hold (null) fails the run like a floor miss.
      const lookup = (key) => edge.keys.peek(hashKey(key)) ?? undefined;
      const order = randomOrder(known.length, 200_000);
      // Lookups spread over every key the edge holds (fillers' names, in random order): whether
      // lookups stay flat in the number of keys, measured against the floor over the same names.
      const spread = Array.from(randomOrder(Math.max(msg.fillers, 1), 200_000), (i) => `bench-edge-filler-${i}`);
      const spreadOrder = Uint32Array.from(spread.keys());
      await verifyRate(edge.verifier, known, order, 300);
      if (process.env.BENCH_PROFILE) await profileLookups(edge.verifier, known, order, process.env.BENCH_PROFILE);
      verifyNowRate(edge.verifier, known, order, 300);
      floorRate(lookup, known, order, 300);
      if (msg.fillers > 0) floorRate(lookup, spread, spreadOrder, 300);
      const verifyNowRuns = [];
      const lookupRuns = [];
      const verifyRuns = [];
      const floorRuns = [];
      const streamedRuns = [];
      const awaitedRuns = [];
      const spreadLookupRuns = [];
      const spreadFloorRuns = [];
      for (let r = 0; r < ROUNDS; r++) {
        verifyNowRuns.push(verifyNowRate(edge.verifier, known, order, MS));
        verifyRuns.push(await verifyRate(edge.verifier, known, order, MS));
        floorRuns.push(floorRate(floor, known, order, MS));
        lookupRuns.push(floorRate(lookup, known, order, MS));
        streamedRuns.push(floorRate(streamedFloor, known, order, MS));
        awaitedRuns.push(await verifyRate(floorAwaited, known, order, MS));
        if (msg.fillers > 0) {
          spreadLookupRuns.push(floorRate(lookup, spread, spreadOrder, MS));
          spreadFloorRuns.push(floorRate(floor, spread, spreadOrder, MS));
        }
        await new Promise((r) => setImmediate(r)); // let the link read its heartbeats
      }
      process.send({
        type: 'rates',
        lookup: lookupRuns,
        verifyNow: verifyNowRuns,
        verify: verifyRuns,
        floor: floorRuns,
        streamed: streamedRuns,
        awaited: awaitedRuns,
        spreadLookup: spreadLookupRuns,
        spreadFloor: spreadFloorRuns,
      });
    } else if (msg.type === 'watch') {
      await watchRevocation(edge.verifier, msg.key);
    } else if (msg.type === 'stop') {
      await edge?.close();
      process.exit(0);
    }
  });
  process.send({ type: 'up' });
}

/** A CPU profile of the edge's lookup rounds alone, written to `path`. */
async function profileLookups(verifier, keys, order, path) {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  for (let r = 0; r < ROUNDS; r++) verifyNowRate(verifier, keys, order, MS);
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(path, JSON.stringify(profile));
  console.log(`profile of ${ROUNDS} × ${MS} ms of the edge's lookups: ${path}`);
}

async function main() {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'keyroll-bench-edge-'));
  const kr = await createKeyroll(
    loadConfig({
      KEYROLL_DATA_DIR: dataDir,
      KEYROLL_LOG_LEVEL: 'error',
      KEYROLL_AUDIT_KEY: randomBytes(24).toString('hex'),
    }),
    { scheduler: false },
  );
  const call = adminCaller(kr.app, kr.bootstrap.rootKey);
  const consumer = await call('POST', '/v1/consumers', { name: 'bench' });
  const token = (await call('POST', '/v1/keys', { consumerId: 'root', scopes: ['dataplane:read'] })).key;

  // Seed: KNOWN keys whose secrets we keep (to verify), the rest fillers with a hash and no secret.
  const t0 = performance.now();
  const now = Date.now();
  const secrets = [];
  const fillers = Math.max(0, KEYS - KNOWN);
  const BATCH = 50_000;
  for (let start = 0; start < KEYS; start += BATCH) {
    const batch = [];
    for (let i = start; i < Math.min(KEYS, start + BATCH); i++) {
      let hash;
      if (i < fillers) hash = fillerHash(i);
      else {
        const g = generateKey('kr_live');
        secrets.push(g.key);
        hash = g.hash;
      }
      batch.push(keyRecord(i, consumer.id, hash, now));
    }
    await insertKeysUnlogged(kr.store.db, batch);
  }
  const seedSeconds = (performance.now() - t0) / 1000;
  await kr.app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${kr.app.server.address().port}`;

  const edge = fork(new URL(import.meta.url).pathname, ['edge', url, token], {
    stdio: 'inherit',
    execArgv: ['--expose-gc'],
  });
  const next = nextMessage(edge);
  await next('up');

  // (b) snapshot load
  const loadedP = next('loaded');
  edge.send({ type: 'load' });
  const loaded = await loadedP;

  // (c) lookups vs floor
  const ratesP = next('rates');
  edge.send({ type: 'lookups', keys: secrets, fillers });
  const rates = await ratesP;
  const ratioOf = (a, b) => median(rates[a].map((v, i) => v / rates[b][i]));
  const lookupRatio = ratioOf('lookup', 'floor');
  const verifyNowRatio = ratioOf('verifyNow', 'floor');
  const awaitedRatio = ratioOf('verify', 'awaited');
  const streamedRatio = ratioOf('verify', 'streamed');
  const spread = rates.spreadLookup.length > 0;
  const spreadRatio = spread ? ratioOf('spreadLookup', 'spreadFloor') : null;
  const lookupsKept = spread ? ratioOf('spreadLookup', 'lookup') : null;
  const floorKept = spread ? ratioOf('spreadFloor', 'floor') : null;

  // (a) revocation
  // A consumer of its own (the seeded one holds more active keys than a consumer may).
  const revoking = await call('POST', '/v1/consumers', { name: 'bench-revocations' });
  const { fromRequest: req, fromResponse: res } = await revocationTrials({
    call,
    child: edge,
    consumerId: revoking.id,
    trials: TRIALS,
  });

  edge.send({ type: 'stop' });
  await new Promise((r) => edge.once('exit', r));
  await kr.close();
  rmSync(dataDir, { recursive: true, force: true });

  const loadSeconds = loaded.loadMs / 1000;
  const bytesPerKey = loaded.heapPerKey + loaded.externalPerKey;
  const rate = Object.fromEntries(Object.entries(rates).map(([name, runs]) => [name, Math.round(median(runs))]));
  const pass = {
    revocation: res.p99 !== null && res.p99 <= TARGET.p99Ms,
    bytesPerKey: bytesPerKey <= TARGET.bytesPerKey,
    load: loadSeconds <= TARGET.loadSeconds,
    // Both where lookups hit the same 1,000 keys and spread over every key.
    lookups: lookupRatio >= TARGET.lookupRatio && (spreadRatio === null || spreadRatio >= TARGET.lookupRatio),
  };
  const mark = (ok) => (ok ? 'PASS' : 'FAIL');

  console.log(`\nbench:edge — a node on SQLite (this process) and an edge verifier (a child process), loopback HTTP`);
  console.log(`machine: ${machine()}`);
  console.log(`seeded ${loaded.keys} keys in ${seedSeconds.toFixed(1)} s (storage's insertKeysUnlogged)\n`);
  console.log(`(a) revocation, ${TRIALS} trials: revoke on the node → the edge rejects the key`);
  printLatencies([
    ['revoke request sent', req],
    ['revoke response received', res],
  ]);
  console.log(`p99 from the response: ${res.p99} ms (target ≤ ${TARGET.p99Ms} ms) ${mark(pass.revocation)}\n`);
  console.log(`(b) snapshot of ${loaded.keys} keys`);
  console.log(`load time: ${loadSeconds.toFixed(2)} s (target ≤ ${TARGET.loadSeconds} s) ${mark(pass.load)}`);
  console.log(
    `edge memory per key after a full GC: ${Math.round(bytesPerKey)} B (heap ${Math.round(loaded.heapPerKey)} + external ${Math.round(loaded.externalPerKey)}; target ≤ ${TARGET.bytesPerKey} B) ${mark(pass.bytesPerKey)}`,
  );
  console.log(`edge process RSS after the load: ${Math.round(loaded.rss / 2 ** 20)} MiB\n`);
  console.log(`(c) lookups, ${ROUNDS} rounds × ${MS} ms, ${KNOWN} keys in random order, medians of rounds`);
  console.log(`floor (one-shot SHA-256 + Map.get over ${loaded.keys} hashes): ${rate.floor}/s`);
  console.log(`edge lookup (hashKey + the edge's key table):          ${rate.lookup}/s`);
  console.log(`lookup / floor: ${lookupRatio.toFixed(3)} (target ≥ ${TARGET.lookupRatio})`);
  if (spread) {
    console.log(
      `spread over all ${loaded.keys} keys in random order: lookup ${rate.spreadLookup}/s, floor ${rate.spreadFloor}/s, lookup / floor ${spreadRatio.toFixed(3)}`,
    );
    console.log(
      `  from ${KNOWN} keys to all of them lookups keep ${lookupsKept.toFixed(3)} of their rate, the floor ${floorKept.toFixed(3)} (memory latency)`,
    );
  }
  console.log(`lookups ≥ ${TARGET.lookupRatio} × floor, both ways: ${mark(pass.lookups)}`);
  console.log('whole verifications at the edge (decision, limits, usage counting), beside it:');
  console.log(
    `  verifyNow (a held key is answered synchronously): ${rate.verifyNow}/s, / floor ${verifyNowRatio.toFixed(3)}`,
  );
  console.log(
    `  awaited verify(): ${rate.verify}/s, / the floor behind an awaited promise (${rate.awaited}/s) ${awaitedRatio.toFixed(3)}, / the floor hashing with createHash as before 2026-11-29 (${rate.streamed}/s) ${streamedRatio.toFixed(3)}`,
  );
  console.log(loadAverageLine());
  console.log(
    JSON.stringify({
      bench: 'edge',
      database: 'sqlite',
      keys: loaded.keys,
      trials: TRIALS,
      fromRequestMs: req,
      fromResponseMs: res,
      loadSeconds: Number(loadSeconds.toFixed(2)),
      bytesPerKey: Math.round(bytesPerKey),
      heapBytesPerKey: Math.round(loaded.heapPerKey),
      externalBytesPerKey: Math.round(loaded.externalPerKey),
      edgeRssMiB: Math.round(loaded.rss / 2 ** 20),
      opsPerSec: {
        lookup: rate.lookup,
        verifyNow: rate.verifyNow,
        verify: rate.verify,
        floor: rate.floor,
        floorAwaited: rate.awaited,
        floorCreateHash: rate.streamed,
        spreadLookup: rate.spreadLookup ?? null,
        spreadFloor: rate.spreadFloor ?? null,
      },
      lookupRatio: Number(lookupRatio.toFixed(3)),
      spreadLookupRatio: spread ? Number(spreadRatio.toFixed(3)) : null,
      spreadKept: spread ? { lookup: Number(lookupsKept.toFixed(3)), floor: Number(floorKept.toFixed(3)) } : null,
      verifyNowRatio: Number(verifyNowRatio.toFixed(3)),
      verifyRatioAwaited: Number(awaitedRatio.toFixed(3)),
      verifyRatioCreateHash: Number(streamedRatio.toFixed(3)),
      target: TARGET,
      pass,
      loadavg: os.loadavg().map((l) => Number(l.toFixed(1))),
      machine: machine(),
    }),
  );
}

if (role === 'edge') await runEdge(process.argv[3], process.argv[4]);
else await main();
