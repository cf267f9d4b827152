// bench:forward-auth — nginx in front of a minimal API, two ways, in one nginx process and one run:
//   auth_request: every request asks keyroll's GET /v1/forward-auth (the guide's tested nginx
//                 configuration, read from docs/guides/verification.md, so it cannot drift);
//   static map:   nginx alone, `map $http_x_api_key $ok { … }` over the same keys (no revocation,
//                 no rotation, no limits: the floor of "nginx checks a key").
// The upstream and keyroll (SQLite, a temp dir) run in child processes; autocannon drives the load
// from this one, cycling over the same keys on both sides, loopback only. Rounds interleave the
// two; medians of rounds. Skips with a message when nginx is not installed.
//
// autocannon ignores `Connection: close`: it writes its next request as soon as a response is
// complete. nginx closes a client connection after `keepalive_requests` requests (1000 by
// default), so a fast side used to hit that limit mid-round, and a request written into the
// closing connection came back as ECONNRESET (the "1 connection error" of the first trial runs;
// `keepalive_requests 50` reproduces it every run). The bench's nginx therefore keeps client
// connections for the whole run; a load that still fails prints what it saw.
//
//   npm run bench:forward-auth                                  (builds first)
//   BENCH_SECONDS=5 BENCH_ROUNDS=3 BENCH_CONNECTIONS=20 BENCH_KEYS=100 node bench/forward-auth.mjs
import { fork, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadAverageLine, machine, median } from './bench-common.mjs';

const role = process.argv[2] ?? 'main';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const KEYS = Number(process.env.BENCH_KEYS ?? 100);

function nginxBinary() {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin']) {
    try {
      accessSync(join(dir, 'nginx'), constants.X_OK);
      return join(dir, 'nginx');
    } catch {}
  }
  return null;
}

/** A minimal JSON API: what both sides ultimately answer. */
function runUpstream() {
  const body = JSON.stringify({ ok: true, items: [1, 2, 3] });
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
}

/** keyroll on a fresh SQLite store, with KEYS keys (10 per consumer, the most a consumer may hold). */
async function runKeyroll() {
  const { createKeyroll, loadConfig } = await import('@keyroll/server');
  const dataDir = mkdtempSync(join(os.tmpdir(), 'keyroll-bench-fa-'));
  const kr = await createKeyroll(loadConfig({ KEYROLL_DATA_DIR: dataDir, KEYROLL_LOG_LEVEL: 'error' }), {
    scheduler: false,
  });
  const auth = { authorization: `Bearer ${kr.bootstrap.rootKey}` };
  const call = async (url, payload) => {
    const res = await kr.app.inject({ method: 'POST', url, headers: auth, payload });
    if (res.statusCode >= 300) throw new Error(`POST ${url}: ${res.statusCode} ${res.body}`);
    return res.json();
  };
  const keys = [];
  for (let c = 0; keys.length < KEYS; c++) {
    const consumer = await call('/v1/consumers', { name: `bench-${c}` });
    for (let i = 0; i < 10 && keys.length < KEYS; i++)
      keys.push((await call('/v1/keys', { consumerId: consumer.id })).key);
  }
  await kr.app.listen({ port: 0, host: '127.0.0.1' });
  process.send({ port: kr.app.server.address().port, keys });
  process.on('message', async (m) => {
    if (m === 'cpu') return process.send({ cpu: process.cpuUsage() });
    if (m !== 'stop') return;
    await kr.close();
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
}

function start(args) {
  const child = fork(process.argv[1], args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, info: m }));
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
}

/** The guide's tested nginx snippet, pointed at this run's keyroll, upstream and port. */
function guideSnippet(keyrollPort, upstreamPort, port) {
  const guide = readFileSync(new URL('../docs/guides/verification.md', import.meta.url), 'utf8');
  const m = /<!-- tested-snippet: nginx -->\n```\w+\n([\s\S]*?)```/.exec(guide);
  if (!m?.[1]) throw new Error('docs/guides/verification.md has no tested snippet nginx');
  return m[1]
    .replaceAll('127.0.0.1:7070', `127.0.0.1:${keyrollPort}`)
    .replaceAll('127.0.0.1:9000', `127.0.0.1:${upstreamPort}`)
    .replace('listen 8080;', `listen 127.0.0.1:${port};`);
}

function staticMap(keys, upstreamPort, port) {
  const entries = keys.map((k) => `    "${k}" 1;`).join('\n');
  return `
map_hash_bucket_size 128;
map $http_x_api_key $keyroll_bench_ok {
    default 0;
${entries}
}
server {
    listen 127.0.0.1:${port};
    location / {
        if ($keyroll_bench_ok = 0) { return 401; }
        proxy_set_header X-Api-Key "";
        proxy_pass http://127.0.0.1:${upstreamPort};
    }
}
`;
}

async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** Whether nginx itself answers on `port` (a 401 from nginx for a request without a key). */
async function nginxAnswers(port) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/api/items`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 401 && /^nginx/.test(res.headers.get('server') ?? '');
  } catch {
    return false;
  }
}

/** One nginx (one worker) serving both sides, in the foreground, with its own prefix. */
async function startNginx(binary, servers, ports) {
  const dir = mkdtempSync(join(os.tmpdir(), 'keyroll-bench-nginx-'));
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${join(dir, t)};`);
  const conf = `daemon off;
master_process off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} error;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  ${temp.join('\n  ')}
${servers}
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child = spawn(binary, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  // Ready when nginx answers on every port, probed over HTTP: a bare TCP connect could reach another
  // process that took a port between freePort() and nginx's bind (the machine is shared).
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      let log = '';
      try {
        log = readFileSync(join(dir, 'error.log'), 'utf8');
      } catch {}
      await stop();
      throw new Error(`nginx exited with ${child.exitCode}: ${log}`);
    }
    if ((await Promise.all(ports.map(nginxAnswers))).every(Boolean)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error('nginx did not answer on its ports within 10 s');
    }
    await sleep(50);
  }
  return { stop };
}

async function load(url, keys, seconds) {
  const { default: autocannon } = await import('autocannon');
  let i = 0;
  const seen = new Map(); // what went wrong, by message, so that a failed run says why
  const note = (what) => seen.set(what, (seen.get(what) ?? 0) + 1);
  const r = await new Promise((resolve, reject) => {
    const tracker = autocannon(
      {
        url,
        connections: CONNECTIONS,
        duration: seconds,
        requests: [
          {
            setupRequest: (req) => {
              req.headers = { ...req.headers, 'x-api-key': keys[i++ % keys.length] };
              return req;
            },
          },
        ],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    tracker.on('reqError', (e) => note(`${e.code ?? 'error'}: ${e.message}`));
    tracker.on('response', (_client, status) => {
      if (status >= 300) note(`status ${status}`);
    });
  });
  if (r.errors > 0 || r.non2xx > 0 || r.timeouts > 0) {
    const why = [...seen].map(([m, n]) => `${n} × ${m}`).join('; ');
    throw new Error(`${url}: ${r.errors} errors, ${r.non2xx} non-2xx, ${r.timeouts} time-outs (${why})`);
  }
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
}

async function main() {
  const binary = nginxBinary();
  if (!binary) {
    console.log('bench:forward-auth skipped: nginx is not installed (apt-get install -y nginx)');
    console.log(JSON.stringify({ bench: 'forward-auth', skipped: true, reason: 'no nginx' }));
    return;
  }
  // Whatever fails, every child started so far is stopped (no upstream left behind holding the terminal).
  const stops = [];
  const runs = { staticMap: [], authRequest: [] };
  let keys;
  try {
    const upstream = await start(['upstream']);
    stops.push(async () => upstream.child.kill());
    const keyroll = await start(['keyroll']);
    stops.push(async () => {
      if (keyroll.child.exitCode !== null) return;
      const exited = new Promise((r) => keyroll.child.once('exit', r));
      keyroll.child.send('stop');
      await exited;
    });
    keys = keyroll.info.keys;
    const [authPort, mapPort] = [await freePort(), await freePort()];
    const nginx = await startNginx(
      binary,
      guideSnippet(keyroll.info.port, upstream.info.port, authPort) + staticMap(keys, upstream.info.port, mapPort),
      [authPort, mapPort],
    );
    stops.push(nginx.stop);
    const targets = [
      { name: 'staticMap', url: `http://127.0.0.1:${mapPort}/api/items` },
      { name: 'authRequest', url: `http://127.0.0.1:${authPort}/api/items` },
    ];
    // A refused key is refused on both sides (and a sanity check that the configurations differ only in the check).
    for (const t of targets) {
      const res = await fetch(t.url, { headers: { 'x-api-key': 'kr_live_notakey' } });
      if (res.status !== 401) throw new Error(`${t.name}: an unknown key got ${res.status}`);
    }
    for (const t of targets) await load(t.url, keys, 2); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of targets) runs[t.name].push(await load(t.url, keys, SECONDS));
    }
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
  const result = Object.fromEntries(
    Object.entries(runs).map(([name, rs]) => [
      name,
      {
        rps: Math.round(median(rs.map((r) => r.rps))),
        p50: median(rs.map((r) => r.p50)),
        p99: median(rs.map((r) => r.p99)),
      },
    ]),
  );
  const perRound = runs.authRequest.map((a, i) => a.rps / runs.staticMap[i].rps);
  const ratio = median(perRound);
  console.log(
    `\nbench:forward-auth — nginx (1 worker), ${ROUNDS} rounds × ${SECONDS} s per side, ${CONNECTIONS} connections, ${keys.length} keys cycled, medians of rounds`,
  );
  console.log(`machine: ${machine()}\n`);
  console.log('nginx checks the key by                    req/s    p50 (ms)   p99 (ms)');
  for (const [name, label] of [
    ['staticMap', 'a static map (nginx alone)'],
    ['authRequest', 'auth_request → keyroll /v1/forward-auth'],
  ]) {
    const r = result[name];
    console.log(
      `${label.padEnd(40)} ${String(r.rps).padStart(8)}   ${String(r.p50).padStart(8)}   ${String(r.p99).padStart(8)}`,
    );
  }
  console.log(`\nauth_request / static map: ${ratio.toFixed(3)} (no target: the price of a live check)`);
  console.log(`  per round: ${perRound.map((r) => r.toFixed(3)).join(' ')}`);
  console.log(loadAverageLine());
  console.log(
    JSON.stringify({
      bench: 'forward-auth',
      seconds: SECONDS,
      rounds: ROUNDS,
      connections: CONNECTIONS,
      keys: keys.length,
      ...result,
      ratio: Number(ratio.toFixed(3)),
      ratioPerRound: perRound.map((r) => Number(r.toFixed(3))),
      loadavg: os.loadavg().map((l) => Number(l.toFixed(1))),
      machine: machine(),
    }),
  );
}

if (role === 'upstream') runUpstream();
else if (role === 'keyroll') await runKeyroll();
else await main();
