// bench:forward-auth — nginx in front of a minimal API, three ways, in one nginx process and one run:
//   auth_request, reused:   every request asks keyroll's GET /v1/forward-auth over a kept-alive
//                           connection (an `upstream { keepalive … }` block, HTTP/1.1);
//   auth_request, per check: the same, opening a new connection to keyroll for every check
//                           (`proxy_pass` straight to the address: nginx's default, HTTP/1.0);
//   static map:             nginx alone, `map $http_x_api_key $ok { … }` over the same keys (no
//                           revocation, no rotation, no limits: the floor of "nginx checks a key").
// Both auth_request sides are the guide's tested nginx configuration (read from
// docs/guides/verification.md, so it cannot drift), as printed and with its connection handling
// switched to the other way (see `reused` and `perCheck`). The upstream and keyroll (SQLite, a temp
// dir) run in child processes; keyroll counts the connections it accepts, so the bench shows
// whether the checks reuse them. autocannon drives the load from this one, cycling over the same
// keys on every side, loopback only. Rounds interleave the sides; medians of rounds. Skips with a
// message when nginx is not installed. (Why the bench's nginx keeps client connections for the
// whole run: bench/nginx.mjs.)
//
//   npm run bench:forward-auth                                  (builds first)
//   BENCH_SECONDS=5 BENCH_ROUNDS=3 BENCH_CONNECTIONS=20 BENCH_KEYS=100 node bench/forward-auth.mjs
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { loadAverageLine, machine, median, serveDriver, startChild } from './bench-common.mjs';
import { freePort, nginxBinary, startNginx } from './nginx.mjs';
import { adminCaller } from './revocation-trials.mjs';

const role = process.argv[2] ?? 'main';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const KEYS = Number(process.env.BENCH_KEYS ?? 100);

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
  const call = adminCaller(kr.app, kr.bootstrap.rootKey);
  const keys = [];
  for (let c = 0; keys.length < KEYS; c++) {
    const consumer = await call('POST', '/v1/consumers', { name: `bench-${c}` });
    for (let i = 0; i < 10 && keys.length < KEYS; i++)
      keys.push((await call('POST', '/v1/keys', { consumerId: consumer.id })).key);
  }
  await kr.app.listen({ port: 0, host: '127.0.0.1' });
  // Connections accepted so far: per request, whether nginx's checks reuse them.
  let connections = 0;
  kr.app.server.on('connection', () => connections++);
  serveDriver(
    { port: kr.app.server.address().port, keys },
    async () => {
      await kr.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
    { connections: () => ({ connections }) },
  );
}

/** The guide's tested nginx snippet, pointed at this run's keyroll and upstream (its `listen 8080;` left for {@link listen}). */
function guideSnippet(keyrollPort, upstreamPort) {
  const guide = readFileSync(new URL('../docs/guides/verification.md', import.meta.url), 'utf8');
  const m = /<!-- tested-snippet: nginx -->\n```\w+\n([\s\S]*?)```/.exec(guide);
  if (!m?.[1]) throw new Error('docs/guides/verification.md has no tested snippet nginx');
  return m[1]
    .replaceAll('127.0.0.1:7070', `127.0.0.1:${keyrollPort}`)
    .replaceAll('127.0.0.1:9000', `127.0.0.1:${upstreamPort}`);
}

function listen(snippet, port) {
  if (!snippet.includes('listen 8080;')) throw new Error("the guide's nginx snippet has no `listen 8080;`");
  return snippet.replace('listen 8080;', `listen 127.0.0.1:${port};`);
}

const UPSTREAM_BLOCK = /upstream (\w+) \{[^}]*?server ([\d.:]+);[^}]*\}\n+/;

/** The snippet with connections to keyroll kept alive (as is, when the guide already does so). */
function reused(snippet) {
  if (UPSTREAM_BLOCK.test(snippet)) return snippet;
  const pass = /proxy_pass http:\/\/([\d.:]+)\/v1\/forward-auth;/;
  const m = pass.exec(snippet);
  if (!m) throw new Error("the guide's nginx snippet has no `proxy_pass http://…/v1/forward-auth;`");
  const upstream = `upstream keyroll_bench_reused {\n    server ${m[1]};\n    keepalive 32;\n    keepalive_timeout 4s;\n}\n\n`;
  return (
    upstream +
    snippet.replace(
      pass,
      'proxy_pass http://keyroll_bench_reused/v1/forward-auth;\n        proxy_http_version 1.1;\n        proxy_set_header Connection "";',
    )
  );
}

/** The snippet opening a new connection to keyroll per check (as is, when the guide has no upstream block). */
function perCheck(snippet) {
  const m = UPSTREAM_BLOCK.exec(snippet);
  if (!m) return snippet;
  const out = snippet
    .replace(UPSTREAM_BLOCK, '')
    .replace(`proxy_pass http://${m[1]}/v1/forward-auth;`, `proxy_pass http://${m[2]}/v1/forward-auth;`)
    .replace(/\n[ \t]*proxy_http_version 1\.1;/, '')
    .replace(/\n[ \t]*proxy_set_header Connection "";/, '');
  if (/keepalive|proxy_http_version|Connection ""|http:\/\/[a-z_]+\//.test(out))
    throw new Error(`could not undo the guide's connection reuse:\n${out}`);
  return out;
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
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, requests: r.requests.total };
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
  const runs = { staticMap: [], authRequestPerCheck: [], authRequestReused: [] };
  let keys;
  try {
    const upstream = await startChild(['upstream']);
    stops.push(async () => upstream.child.kill());
    const keyroll = await startChild(['keyroll']);
    stops.push(async () => {
      if (keyroll.child.exitCode !== null) return;
      const exited = new Promise((r) => keyroll.child.once('exit', r));
      keyroll.child.send('stop');
      await exited;
    });
    keys = keyroll.info.keys;
    const connectionsOfKeyroll = () =>
      new Promise((resolve) => {
        keyroll.child.once('message', (m) => resolve(m.connections));
        keyroll.child.send('connections');
      });
    const [perCheckPort, reusedPort, mapPort] = [await freePort(), await freePort(), await freePort()];
    const guide = guideSnippet(keyroll.info.port, upstream.info.port);
    const nginx = await startNginx(
      binary,
      listen(perCheck(guide), perCheckPort) +
        listen(reused(guide), reusedPort) +
        staticMap(keys, upstream.info.port, mapPort),
      [perCheckPort, reusedPort, mapPort],
    );
    stops.push(nginx.stop);
    const targets = [
      { name: 'staticMap', url: `http://127.0.0.1:${mapPort}/api/items` },
      { name: 'authRequestPerCheck', url: `http://127.0.0.1:${perCheckPort}/api/items` },
      { name: 'authRequestReused', url: `http://127.0.0.1:${reusedPort}/api/items` },
    ];
    // A refused key is refused on every side (and a sanity check that the configurations differ only in the check).
    for (const t of targets) {
      const res = await fetch(t.url, { headers: { 'x-api-key': 'kr_live_notakey' } });
      if (res.status !== 401) throw new Error(`${t.name}: an unknown key got ${res.status}`);
    }
    for (const t of targets) await load(t.url, keys, 2); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of targets) {
        const before = await connectionsOfKeyroll();
        const run = await load(t.url, keys, SECONDS);
        run.keyrollConnectionsPerRequest = ((await connectionsOfKeyroll()) - before) / run.requests;
        runs[t.name].push(run);
      }
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
        // New connections keyroll accepted per request: 1 when every check opens one, ~0 when reused.
        ...(name !== 'staticMap' && {
          keyrollConnectionsPerRequest: Number(median(rs.map((r) => r.keyrollConnectionsPerRequest)).toFixed(4)),
        }),
      },
    ]),
  );
  const perRound = (a, b) => runs[a].map((r, i) => r.rps / runs[b][i].rps);
  const ratios = {
    perCheckVsMap: perRound('authRequestPerCheck', 'staticMap'),
    reusedVsMap: perRound('authRequestReused', 'staticMap'),
    reusedVsPerCheck: perRound('authRequestReused', 'authRequestPerCheck'),
  };
  const fixed = (xs) => xs.map((r) => Number(r.toFixed(3)));
  console.log(
    `\nbench:forward-auth — nginx (1 worker), ${ROUNDS} rounds × ${SECONDS} s per side, ${CONNECTIONS} connections, ${keys.length} keys cycled, medians of rounds`,
  );
  console.log(`machine: ${machine()}\n`);
  console.log(
    'nginx checks the key by                              req/s    p50 (ms)   p99 (ms)   keyroll conns/request',
  );
  for (const [name, label] of [
    ['staticMap', 'a static map (nginx alone)'],
    ['authRequestPerCheck', 'auth_request → keyroll, a connection per check'],
    ['authRequestReused', 'auth_request → keyroll, kept-alive connections'],
  ]) {
    const r = result[name];
    console.log(
      `${label.padEnd(50)} ${String(r.rps).padStart(8)}   ${String(r.p50).padStart(8)}   ${String(r.p99).padStart(8)}   ${String(r.keyrollConnectionsPerRequest ?? '-').padStart(8)}`,
    );
  }
  for (const [name, label] of [
    ['perCheckVsMap', 'auth_request (a connection per check) / static map'],
    ['reusedVsMap', 'auth_request (kept alive) / static map'],
    ['reusedVsPerCheck', 'auth_request kept alive / a connection per check'],
  ]) {
    console.log(
      `${label}: ${median(ratios[name]).toFixed(3)}  (per round: ${ratios[name].map((r) => r.toFixed(3)).join(' ')})`,
    );
  }
  console.log('(no target: the price of a live check)');
  console.log(loadAverageLine());
  console.log(
    JSON.stringify({
      bench: 'forward-auth',
      seconds: SECONDS,
      rounds: ROUNDS,
      connections: CONNECTIONS,
      keys: keys.length,
      ...result,
      ...Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, Number(median(v).toFixed(3))])),
      ratiosPerRound: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, fixed(v)])),
      loadavg: os.loadavg().map((l) => Number(l.toFixed(1))),
      machine: machine(),
    }),
  );
}

if (role === 'upstream') runUpstream();
else if (role === 'keyroll') await runKeyroll();
else await main();
