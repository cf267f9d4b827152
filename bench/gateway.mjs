// bench:gateway — requests/s and p99 latency through the gateway (key verified in-process), through
// the same proxy with authentication switched off, straight to the upstream, through a Fastify +
// @fastify/reply-from proxy doing the same check, and — when nginx is installed — through nginx
// checking the key against a static map, in one run.
// The upstream, keyroll's proxies and the Fastify proxy run in child processes; nginx (one worker) in
// its own; autocannon drives the load from this one.
//
//   npm run bench:gateway            (builds first)
//   BENCH_SECONDS=10 BENCH_ROUNDS=3 BENCH_CONNECTIONS=50 node bench/gateway.mjs
//
// Prints a table, the ratios, and a final JSON line. DESIGN targets: gateway ≥ 0.95 × auth off and
// ≥ 1.2 × the Fastify + reply-from proxy.
// On a small or shared machine the numbers move between runs: the rounds interleave the
// targets and the median is reported, so drift hits all of them alike.
//
// The nginx comparison: nginx alone, `map $http_x_api_key` over the bench's one key (no revocation,
// rotation, limits or usage: the floor of "a proxy checks a key"), proxying to the same upstream over
// kept-alive connections, as the gateway's connection pool does. Its CPU time per request comes from
// /proc (Linux; clock ticks, so coarse). Skipped, with a message, without nginx.
//
// The Fastify comparison: what a provider would build with keyroll's own pieces instead of its
// gateway — Fastify 5, keyroll's `keyrollFastify` preHandler over an embedded verifier
// (`createVerifier`, the same verification pipeline as a keyroll node) on the same SQLite file, the
// same scopes, and `@fastify/reply-from` forwarding to the same upstream through its undici pool
// (kept-alive connections), dropping the key and passing the consumer and key ids on, as the
// gateway does.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { median, serveDriver, startChild } from './bench-common.mjs';
import { freePort, nginxBinary, startNginx } from './nginx.mjs';

const role = process.argv[2] ?? 'main';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const TARGET = 0.95; // DESIGN: gateway ≥ 0.95 × the same proxy with authentication off
const TARGET_VS_REPLY_FROM = 1.2; // DESIGN: gateway ≥ 1.2 × a Fastify + @fastify/reply-from proxy doing the same check
const SCOPES = ['read']; // what the bench's route requires, and the Fastify proxy with it

/** A minimal JSON API: what every target ultimately answers. */
async function runUpstream() {
  const body = JSON.stringify({ ok: true, items: [1, 2, 3] });
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
}

/** keyroll on a fresh SQLite store with its gateway, plus the same proxy with authentication off. */
async function runProxies(upstream) {
  const { createKeyroll, loadConfig } = await import('@keyroll/server');
  const { Gateway, parseGatewayConfig } = await import('@keyroll/gateway');
  const dataDir = mkdtempSync(join(os.tmpdir(), 'keyroll-bench-gw-'));
  const routes = { routes: [{ pathPrefix: '/api', upstream, scopes: SCOPES }] };
  const databaseUrl = `sqlite:${join(dataDir, 'keyroll.db')}`;
  const config = loadConfig({
    KEYROLL_DATA_DIR: dataDir,
    KEYROLL_DATABASE_URL: databaseUrl,
    KEYROLL_GATEWAY_CONFIG: JSON.stringify(routes),
    KEYROLL_SCHEDULER_INTERVAL_MS: '0',
  });
  const kr = await createKeyroll(config, { scheduler: false });
  const auth = { authorization: `Bearer ${kr.bootstrap.rootKey}` };
  const consumer = (
    await kr.app.inject({ method: 'POST', url: '/v1/consumers', headers: auth, payload: { name: 'bench' } })
  ).json();
  const created = await kr.app.inject({
    method: 'POST',
    url: '/v1/keys',
    headers: auth,
    payload: { consumerId: consumer.id, scopes: SCOPES },
  });
  const key = created.json().key;
  const gatewayUrl = await kr.gateway.listen(0);
  const authOff = new Gateway({ config: parseGatewayConfig(routes), verifier: null });
  const authOffUrl = await authOff.listen(0);
  serveDriver({ gatewayUrl, authOffUrl, key, databaseUrl }, async () => {
    await authOff.close();
    await kr.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
}

/**
 * Fastify + @fastify/reply-from in front of `upstream`, checking keys with keyroll's Fastify hook over
 * an embedded verifier on keyroll's database (`databaseUrl`, the proxies' store).
 */
async function runReplyFrom(upstream, databaseUrl) {
  const { default: Fastify } = await import('fastify');
  const { default: replyFrom } = await import('@fastify/reply-from');
  const { createVerifier } = await import('@keyroll/verifier');
  const { keyrollFastify } = await import('@keyroll/verifier/fastify');
  const embedded = await createVerifier({ databaseUrl });
  const app = Fastify();
  // Its default undici pool: up to 128 kept-alive connections to the upstream.
  await app.register(replyFrom, { base: upstream });
  const preHandler = keyrollFastify({ verifier: embedded.verifier, scopes: SCOPES });
  app.get('/api/*', { preHandler }, (request, reply) =>
    reply.from(request.url, {
      // Like the gateway: the key stays here, the upstream learns who called and the forwarding
      // headers a proxy adds (X-Forwarded-For/-Proto/-Host and an RFC 7239 Forwarded element).
      rewriteRequestHeaders: (req, headers) => {
        const { 'x-api-key': _key, authorization: _authorization, ...rest } = headers;
        const client = req.socket.remoteAddress ?? 'unknown';
        return {
          ...rest,
          'x-forwarded-for': client,
          'x-forwarded-proto': 'http',
          'x-forwarded-host': headers.host,
          forwarded: `for=${client};proto=http;host=${headers.host}`,
          'x-keyroll-consumer-id': req.keyroll.consumerId,
          'x-keyroll-key-id': req.keyroll.keyId,
        };
      },
    }),
  );
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  serveDriver({ url }, async () => {
    await app.close();
    await embedded.close();
  });
}

/**
 * A child's side of the driver's messages: `info` once ready, its CPU time (µs) on `cpu` — so the
 * driver can charge it to the target under load — and `close()` then exit on `stop`.
 */
async function load(url, headers, seconds) {
  const { default: autocannon } = await import('autocannon');
  const seen = new Map(); // what went wrong, by message, so that a failed run says why
  const note = (what) => seen.set(what, (seen.get(what) ?? 0) + 1);
  const r = await new Promise((resolve, reject) => {
    const tracker = autocannon({ url, connections: CONNECTIONS, duration: seconds, headers }, (err, result) =>
      err ? reject(err) : resolve(result),
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
  return { rps: r.requests.average, p99: r.latency.p99, requests: r.requests.total };
}

/** nginx alone in front of the upstream: a static map of the one key, kept-alive upstream connections. */
function nginxStaticMap(key, upstreamPort, port) {
  return `
upstream keyroll_bench_api {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;
    keepalive_timeout 50s;
}
map_hash_bucket_size 128;
map $http_x_api_key $keyroll_bench_ok {
    default 0;
    "${key}" 1;
}
server {
    listen 127.0.0.1:${port};
    location / {
        if ($keyroll_bench_ok = 0) { return 401; }
        proxy_set_header X-Api-Key "";
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_pass http://keyroll_bench_api;
    }
}
`;
}

/** CPU time (µs) a process has used, from /proc (null where there is none). */
function cpuOfPid(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
    return (ticks * 1e6) / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

/** A child's CPU time (µs) so far, as it reports it (see serveDriver). */
function cpuOf(child) {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m.cpu.user + m.cpu.system));
    child.send('cpu');
  });
}

/** Throws unless a request with an unknown key to `url` is refused with 401. */
async function assertRefusesUnknownKey(name, url) {
  const refused = await fetch(url, { headers: { 'x-api-key': 'kr_live_notakey' } });
  await refused.arrayBuffer();
  if (refused.status !== 401) throw new Error(`${name}: an unknown key got ${refused.status}`);
}

/** `ratio` against `target`, as the table prints it. */
function verdict(ratio, target) {
  return `${ratio.toFixed(3)} (target ≥ ${target}: ${ratio >= target ? 'PASS' : 'FAIL'})`;
}

async function main() {
  const loadBefore = os.loadavg()[0].toFixed(1);
  const upstream = await startChild(['upstream']);
  const upstreamUrl = `http://127.0.0.1:${upstream.info.port}`;
  const proxies = await startChild(['proxies', upstreamUrl]);
  const { gatewayUrl, authOffUrl, key, databaseUrl } = proxies.info;
  const withKey = { 'x-api-key': key };
  const targets = [
    { name: 'direct', url: `${upstreamUrl}/api/items`, headers: {} },
    { name: 'authOff', url: `${authOffUrl}/api/items`, headers: {} },
    { name: 'gateway', url: `${gatewayUrl}/api/items`, headers: withKey },
  ];
  let replyFrom = null;
  let nginx = null;
  const stopAll = async () => {
    await nginx?.stop();
    replyFrom?.child.send('stop');
    proxies.child.send('stop');
    upstream.child.kill();
  };
  try {
    replyFrom = await startChild(['reply-from', upstreamUrl, databaseUrl]);
    await assertRefusesUnknownKey('fastify + reply-from', `${replyFrom.info.url}/api/items`);
    targets.push({ name: 'replyFrom', url: `${replyFrom.info.url}/api/items`, headers: withKey });
    const binary = nginxBinary();
    if (binary) {
      const port = await freePort();
      nginx = await startNginx(binary, nginxStaticMap(key, upstream.info.port, port), [port]);
      await assertRefusesUnknownKey('nginx', `http://127.0.0.1:${port}/api/items`);
      targets.push({ name: 'nginx', url: `http://127.0.0.1:${port}/api/items`, headers: withKey });
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  const cpuOfTarget = async (name) => {
    if (name === 'direct') return null;
    if (name === 'nginx') return cpuOfPid(nginx.pid);
    return cpuOf(name === 'replyFrom' ? replyFrom.child : proxies.child);
  };
  const runs = Object.fromEntries(targets.map((t) => [t.name, []]));
  try {
    for (const t of targets) await load(t.url, t.headers, 2); // warm-up: JIT, pools, key cache
    // Rounds interleave the targets so that drift of the machine hits all of them alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of targets) {
        const before = await cpuOfTarget(t.name);
        const run = await load(t.url, t.headers, SECONDS);
        const after = await cpuOfTarget(t.name);
        runs[t.name].push({
          ...run,
          cpuUs: before === null || after === null ? null : (after - before) / run.requests,
        });
      }
    }
  } finally {
    await stopAll();
  }
  const result = Object.fromEntries(
    targets.map((t) => [
      t.name,
      {
        rps: Math.round(median(runs[t.name].map((r) => r.rps))),
        p99: median(runs[t.name].map((r) => r.p99)),
        // CPU of the proxy's process (nginx's or Fastify's own for those) per request: steadier when other work shares the machine.
        ...(t.name !== 'direct' &&
          runs[t.name].every((r) => r.cpuUs !== null) && {
            cpuUsPerRequest: Number(median(runs[t.name].map((r) => r.cpuUs)).toFixed(1)),
          }),
      },
    ]),
  );
  const vsAuthOff = result.gateway.rps / result.authOff.rps;
  const perRound = runs.gateway.map((g, i) => g.rps / runs.authOff[i].rps);
  const vsDirect = result.gateway.rps / result.direct.rps;
  // Requests the same CPU serves with authentication, relative to without: the throughput ratio a
  // proxy bound by its own CPU reaches.
  const cpuRatio = result.authOff.cpuUsPerRequest / result.gateway.cpuUsPerRequest;
  const vsReplyFrom = result.gateway.rps / result.replyFrom.rps;
  const perRoundVsReplyFrom = runs.gateway.map((g, i) => g.rps / runs.replyFrom[i].rps);
  const cpuRatioVsReplyFrom = result.replyFrom.cpuUsPerRequest / result.gateway.cpuUsPerRequest;
  const vsNginx = result.nginx ? result.gateway.rps / result.nginx.rps : null;
  const perRoundVsNginx = result.nginx ? runs.gateway.map((g, i) => g.rps / runs.nginx[i].rps) : null;
  const machine = `${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;

  console.log(
    `\nbench:gateway — ${ROUNDS} rounds × ${SECONDS} s per target, ${CONNECTIONS} connections, median of rounds`,
  );
  console.log(`machine: ${machine}; load average before/after: ${loadBefore} / ${os.loadavg()[0].toFixed(1)}\n`);
  console.log('target                         req/s      p99 (ms)   proxy CPU µs/request');
  for (const [name, label] of [
    ['direct', 'upstream directly'],
    ['authOff', 'proxy, authentication off'],
    ['gateway', 'gateway (key verified)'],
    ['replyFrom', 'fastify + reply-from (same)'],
    ['nginx', 'nginx, static key map'],
  ]) {
    if (!result[name]) continue;
    console.log(
      `${label.padEnd(28)} ${String(result[name].rps).padStart(8)}   ${String(result[name].p99).padStart(8)}   ${String(result[name].cpuUsPerRequest ?? '-').padStart(8)}`,
    );
  }
  console.log(`\ngateway / auth off: ${verdict(vsAuthOff, TARGET)}`);
  console.log(`  per round: ${perRound.map((r) => r.toFixed(3)).join(' ')}`);
  console.log(`gateway / fastify+reply-from: ${verdict(vsReplyFrom, TARGET_VS_REPLY_FROM)}`);
  console.log(`  per round: ${perRoundVsReplyFrom.map((r) => r.toFixed(3)).join(' ')}`);
  console.log(`  CPU per request, reply-from / gateway: ${cpuRatioVsReplyFrom.toFixed(3)}`);
  console.log(`gateway / direct:   ${vsDirect.toFixed(3)}`);
  console.log(`CPU per request, auth off / gateway: ${cpuRatio.toFixed(3)} (the same ratio, measured by CPU time)`);
  console.log(
    vsNginx === null
      ? 'nginx: not installed, comparison skipped'
      : `gateway / nginx (static key map): ${vsNginx.toFixed(3)} (no target; per round: ${perRoundVsNginx.map((r) => r.toFixed(3)).join(' ')})`,
  );
  console.log(
    JSON.stringify({
      bench: 'gateway',
      seconds: SECONDS,
      rounds: ROUNDS,
      connections: CONNECTIONS,
      machine,
      ...result,
      ratioGatewayVsAuthOff: Number(vsAuthOff.toFixed(3)),
      ratioPerRound: perRound.map((r) => Number(r.toFixed(3))),
      loadAverage: Number(loadBefore),
      ratioGatewayVsDirect: Number(vsDirect.toFixed(3)),
      cpuRatioAuthOffVsGateway: Number(cpuRatio.toFixed(3)),
      target: TARGET,
      pass: vsAuthOff >= TARGET,
      ratioGatewayVsReplyFrom: Number(vsReplyFrom.toFixed(3)),
      ratioGatewayVsReplyFromPerRound: perRoundVsReplyFrom.map((r) => Number(r.toFixed(3))),
      cpuRatioReplyFromVsGateway: Number(cpuRatioVsReplyFrom.toFixed(3)),
      targetVsReplyFrom: TARGET_VS_REPLY_FROM,
      passVsReplyFrom: vsReplyFrom >= TARGET_VS_REPLY_FROM,
      ...(result.nginx
        ? {
            ratioGatewayVsNginx: Number(vsNginx.toFixed(3)),
            ratioGatewayVsNginxPerRound: perRoundVsNginx.map((r) => Number(r.toFixed(3))),
          }
        : { nginx: null }),
      loadAverageAfter: Number(os.loadavg()[0].toFixed(1)),
    }),
  );
}

if (role === 'upstream') await runUpstream();
else if (role === 'proxies') await runProxies(process.argv[3]);
else if (role === 'reply-from') await runReplyFrom(process.argv[3], process.argv[4]);
else await main();
