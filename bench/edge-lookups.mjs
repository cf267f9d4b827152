// A driver for profiling the edge's lookup path alone (bench:edge's part (c), in one process): a node
// on SQLite and an edge verifier following it over loopback HTTP, then interleaved rounds of the edge's
// `verify(key, { scopes: ['read'] })` and the floor (SHA-256 + Map.get over as many hashes). It also
// prices, for information only, a floor that hashes like the verifier does (`crypto.hash`, one-shot):
// the floor (`createHash`) is what bench:edge's ratio is measured against.
//
//   npx tsc -b && BENCH_PROFILE=/tmp/edge.cpuprofile node bench/edge-lookups.mjs   (the edge's rounds alone)
//   BENCH_EDGE_KEYS=100000 BENCH_ROUNDS=10 BENCH_MS=200 node bench/edge-lookups.mjs
//
// bench:edge (bench/edge.mjs) is the measurement of record: the edge there runs in its own process.
import { createHash, hash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import { join } from 'node:path';
import { generateKey } from '@keyroll/core';
import { createKeyroll, loadConfig } from '@keyroll/server';
import { insertKeysUnlogged } from '@keyroll/storage';
import { createRemoteVerifier } from '@keyroll/verifier';
import { loadAverageLine, median, randomOrder } from './bench-common.mjs';

const KEYS = Number(process.env.BENCH_EDGE_KEYS ?? 100_000);
const KNOWN = 1000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const MS = Number(process.env.BENCH_MS ?? 200);

const fillerHash = (i) => createHash('sha256').update(`bench-edge-filler-${i}`).digest('hex');

const dataDir = mkdtempSync(join(os.tmpdir(), 'keyroll-bench-edge-lookups-'));
const kr = await createKeyroll(
  loadConfig({
    KEYROLL_DATA_DIR: dataDir,
    KEYROLL_LOG_LEVEL: 'error',
    KEYROLL_AUDIT_KEY: randomBytes(24).toString('hex'),
  }),
  { scheduler: false },
);
const auth = { authorization: `Bearer ${kr.bootstrap.rootKey}` };
const call = async (method, path, payload) => {
  const res = await kr.app.inject({ method, url: path, headers: auth, payload });
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${res.body}`);
  return res.json();
};
const consumer = await call('POST', '/v1/consumers', { name: 'bench' });
const token = (await call('POST', '/v1/keys', { consumerId: 'root', scopes: ['dataplane:read'] })).key;
const now = Date.now();
const secrets = [];
const fillers = Math.max(0, KEYS - KNOWN);
for (let start = 0; start < KEYS; start += 50_000) {
  const batch = [];
  for (let i = start; i < Math.min(KEYS, start + 50_000); i++) {
    let hash;
    if (i < fillers) hash = fillerHash(i);
    else {
      const g = generateKey('kr_live');
      secrets.push(g.key);
      hash = g.hash;
    }
    const id = `key_bench${i.toString(36).padStart(12, '0')}`;
    batch.push({
      id,
      consumerId: consumer.id,
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
    });
  }
  await insertKeysUnlogged(kr.store.db, batch);
}
await kr.app.listen({ port: 0, host: '127.0.0.1' });
const url = `http://127.0.0.1:${kr.app.server.address().port}`;
const edge = await createRemoteVerifier({ url, token, usageFlushMs: 0, maxStalenessMs: 3_600_000 });

const map = new Map();
for (let i = 0; i < fillers; i++) map.set(fillerHash(i), i);
for (const k of secrets) map.set(createHash('sha256').update(k).digest('hex'), k);
const floor = (key) => map.get(createHash('sha256').update(key).digest('hex'));
const oneShotFloor = (key) => map.get(hash('sha256', key, 'hex'));
const order = randomOrder(secrets.length, 200_000);

async function edgeRate(ms) {
  let done = 0;
  let i = 0;
  const started = performance.now();
  let now = started;
  while (now - started < ms) {
    for (let j = 0; j < 1000; j++) {
      const r = await edge.verifier.verify(secrets[order[i]], { scopes: ['read'] });
      if (r.code !== 'VALID') throw new Error(`unexpected ${r.code}`);
      i = i + 1 === order.length ? 0 : i + 1;
    }
    done += 1000;
    now = performance.now();
  }
  return done / ((now - started) / 1000);
}

function floorRate(ms, lookup = floor) {
  let done = 0;
  let i = 0;
  const started = performance.now();
  let now = started;
  while (now - started < ms) {
    for (let j = 0; j < 1000; j++) {
      if (lookup(secrets[order[i]]) === undefined) throw new Error('floor miss');
      i = i + 1 === order.length ? 0 : i + 1;
    }
    done += 1000;
    now = performance.now();
  }
  return done / ((now - started) / 1000);
}

await edgeRate(300);
if (process.env.BENCH_PROFILE) {
  // Profile the edge's rounds alone (no floor, no seeding), then exit.
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  for (let r = 0; r < ROUNDS; r++) await edgeRate(MS);
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(process.env.BENCH_PROFILE, JSON.stringify(profile));
  console.log(`profile of ${ROUNDS} × ${MS} ms of the edge's lookups: ${process.env.BENCH_PROFILE}`);
}
const edgeRuns = [];
const floorRuns = [];
const oneShotRuns = [];
for (let r = 0; r < ROUNDS; r++) {
  edgeRuns.push(await edgeRate(MS));
  floorRuns.push(floorRate(MS));
  oneShotRuns.push(floorRate(MS, oneShotFloor));
  await new Promise((r) => setImmediate(r));
}
const ratio = (runs) => median(edgeRuns.map((v, i) => v / runs[i])).toFixed(3);
console.log(
  `${edge.status().keys} keys: edge ${Math.round(median(edgeRuns))}/s, floor ${Math.round(median(floorRuns))}/s, ` +
    `edge / floor ${ratio(floorRuns)}; one-shot-hash floor ${Math.round(median(oneShotRuns))}/s, ` +
    `edge / it ${ratio(oneShotRuns)}; ${loadAverageLine()}`,
);
await edge.close();
await kr.close();
rmSync(dataDir, { recursive: true, force: true });
