// bench:alert-latency — one keyroll node (SQLite, background workers on their real timers, as
// `keyroll serve` runs them): the time from presenting a revoked key until the
// `key.retired_key_used` webhook reaches a local receiver, over several trials (a new key each
// time, since one key alerts once per cooldown).
//
//   npx tsc -b && BENCH_TRIALS=20 node bench/alert-latency.mjs
//
// DESIGN target: use of a revoked or retired key alerted within 5 s.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { createKeyroll, loadConfig } from '@keyroll/server';
import { loadAverageLine, machine } from './cached-keys.mjs';

const TRIALS = Number(process.env.BENCH_TRIALS ?? 20);
const TARGET_MS = 5_000;

const waiting = new Map();
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => {
    body += c;
  });
  req.on('end', () => {
    res.writeHead(204).end();
    const event = JSON.parse(body);
    if (event.type === 'key.retired_key_used') waiting.get(event.data.keyId)?.(performance.now());
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const dataDir = mkdtempSync(join(os.tmpdir(), 'keyroll-bench-alerts-'));
const kr = await createKeyroll(
  loadConfig({ KEYROLL_DATA_DIR: dataDir, KEYROLL_LOG_LEVEL: 'error', KEYROLL_WEBHOOK_ALLOW_PRIVATE: '1' }),
  { scheduler: false, background: true },
);
const root = kr.bootstrap?.rootKey;
async function call(method, url, payload) {
  const res = await kr.app.inject({ method, url, payload, headers: { authorization: `Bearer ${root}` } });
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.json();
}
const { port } = receiver.address();
await call('POST', '/v1/webhooks', { url: `http://127.0.0.1:${port}/hook`, events: ['key.retired_key_used'] });

const latencies = [];
for (let i = 0; i < TRIALS; i++) {
  const consumer = await call('POST', '/v1/consumers', { name: `bench-${i}` });
  const created = await call('POST', '/v1/keys', { consumerId: consumer.id });
  await call('POST', `/v1/keys/${created.id}/revoke`, { reason: 'bench' });
  const received = new Promise((resolve) => waiting.set(created.id, resolve));
  const started = performance.now();
  await kr.verifier.verify(created.key, { ip: '203.0.113.1' });
  const timeout = new Promise((resolve) => setTimeout(() => resolve(Number.NaN), 120_000).unref());
  const at = await Promise.race([received, timeout]);
  latencies.push(at - started);
}

await kr.close();
receiver.close();
rmSync(dataDir, { recursive: true, force: true });

const sorted = latencies.filter((l) => !Number.isNaN(l)).sort((a, b) => a - b);
const pct = (p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
const max = sorted[sorted.length - 1] ?? Number.NaN;
const pass = sorted.length === TRIALS && max <= TARGET_MS;
console.log(`bench:alert-latency — ${TRIALS} revoked keys presented, one node, SQLite, real timers`);
console.log(`machine: ${machine()}`);
console.log(
  `presented → webhook received: p50 ${pct(50).toFixed(0)} ms, p90 ${pct(90).toFixed(0)} ms, max ${max.toFixed(0)} ms`,
);
console.log(loadAverageLine());
console.log(
  `max ${max.toFixed(0)} ms (target ≤ ${TARGET_MS} ms, ${TRIALS - sorted.length} missed) ${pass ? 'PASS' : 'FAIL'}`,
);
console.log(JSON.stringify({ bench: 'alert-latency', trials: TRIALS, p50: pct(50), p90: pct(90), max, pass }));
