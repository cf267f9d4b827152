// bench:propagation — two keyroll nodes (two processes) on one PostgreSQL database: the time from
// a revocation on node A until node B rejects the key, over many trials. Node B verifies the key
// right after each change its feed applies, and every millisecond besides (a busy loop would steal
// the CPU the nodes and the database need), and stamps the first rejection with the system-wide
// monotonic clock, which both processes share. (Until 2026-11-29 it only polled every millisecond,
// which stamped a rejection up to a poll interval late.)
//
//   npm run bench:propagation                       (builds first)
//   KEYROLL_BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_TRIALS=200 node bench/propagation.mjs
//
// The database is a fresh one created next to the URL's and dropped at the end.
// DESIGN target: p99 ≤ 10 ms from the revoke request.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createKeyroll, loadConfig } from '@keyroll/server';
import pg from 'pg';
import { loadAverageLine, machine } from './bench-common.mjs';
import { adminCaller, nextMessage, printLatencies, revocationTrials, watchRevocation } from './revocation-trials.mjs';

const role = process.argv[2] ?? 'main';
const PG_URL =
  process.env.KEYROLL_BENCH_PG_URL ?? process.env.KEYROLL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TRIALS = Number(process.env.BENCH_TRIALS ?? 200);
const TARGET_P99_MS = 10; // DESIGN: p99 ≤ 10 ms from the request with PostgreSQL

function nodeConfig(url, dataDir) {
  // Both nodes share one database, so they seal its audit chain with one key.
  const auditKey = 'bench-propagation-audit-key-0123456789abcdef';
  return loadConfig({
    KEYROLL_DATA_DIR: dataDir,
    KEYROLL_DATABASE_URL: url,
    KEYROLL_LOG_LEVEL: 'error',
    KEYROLL_AUDIT_KEY: auditKey,
  });
}

/** Node B: verifies what it is told to watch until the key is rejected. */
async function runNodeB(url) {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'keyroll-bench-b-'));
  const kr = await createKeyroll(nodeConfig(url, dataDir), { scheduler: false });
  // Told right after the feed hands a change to the key cache (the verification pipeline's listener
  // calls `lookup.apply`), so that the watcher verifies at the first moment B can refuse the key.
  const callbacks = new Set();
  const lookup = kr.cluster.lookup;
  const apply = lookup.apply.bind(lookup);
  lookup.apply = (change) => {
    apply(change);
    for (const cb of callbacks) cb();
  };
  const onApplied = (cb) => {
    callbacks.add(cb);
    return () => callbacks.delete(cb);
  };
  process.on('message', async (msg) => {
    if (msg.type === 'stop') {
      await kr.close();
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    }
    if (msg.type === 'watch') await watchRevocation(kr.verifier, msg.key, { onApplied });
  });
  process.send({ type: 'up' });
}

async function main() {
  const name = `keyroll_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  try {
    await admin.connect();
  } catch (e) {
    console.log(`bench:propagation skipped: PostgreSQL not reachable at ${PG_URL} (${e.message})`);
    console.log(JSON.stringify({ bench: 'propagation', skipped: true, reason: 'no PostgreSQL' }));
    return;
  }
  await admin.query(`create database ${name}`);
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  const dataDir = mkdtempSync(join(os.tmpdir(), 'keyroll-bench-a-'));
  const a = await createKeyroll(nodeConfig(url.toString(), dataDir), { scheduler: false });
  const call = adminCaller(a.app, a.bootstrap.rootKey);
  const consumer = await call('POST', '/v1/consumers', { name: 'bench' });

  const b = fork(new URL(import.meta.url).pathname, ['node-b', url.toString()], { stdio: 'inherit' });
  await nextMessage(b)('up');

  const { fromRequest: req, fromResponse: res } = await revocationTrials({
    call,
    child: b,
    consumerId: consumer.id,
    trials: TRIALS,
  });

  b.send({ type: 'stop' });
  await new Promise((r) => b.once('exit', r));
  await a.close();
  rmSync(dataDir, { recursive: true, force: true });
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.query(`drop database if exists ${name}`);
      break;
    } catch (e) {
      if (attempt > 50) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await admin.end();

  console.log(
    `\nbench:propagation — revoke on node A → rejected on node B, PostgreSQL LISTEN/NOTIFY, ${TRIALS} trials`,
  );
  console.log(`machine: ${machine()}\n`);
  printLatencies([
    ['revoke request sent on A', req],
    ['revoke response received from A', res],
  ]);
  const pass = req.p99 <= TARGET_P99_MS;
  console.log(loadAverageLine());
  console.log(`\np99 from the revoke request: ${req.p99} ms (target ≤ ${TARGET_P99_MS} ms) ${pass ? 'PASS' : 'FAIL'}`);
  console.log(
    JSON.stringify({
      bench: 'propagation',
      database: 'postgres',
      trials: TRIALS,
      fromRequestMs: req,
      fromResponseMs: res,
      targetP99Ms: TARGET_P99_MS,
      pass,
      loadavg: os.loadavg().map((l) => Number(l.toFixed(1))),
      machine: machine(),
    }),
  );
}

if (role === 'node-b') await runNodeB(process.argv[3]);
else await main();
