// bench:gateway — requests/s and p99 latency through the gateway (key verified in-process), through
// the same proxy with authentication switched off, and straight to the upstream, in one run.
// The upstream and the proxies run in child processes; autocannon drives the load from this one.
//
//   npm run bench:gateway            (builds first)
//   BENCH_SECONDS=10 BENCH_ROUNDS=3 BENCH_CONNECTIONS=50 node bench/gateway.mjs
//
// Prints a table, the ratios, and a final JSON line. DESIGN target: gateway ≥ 0.9 × auth off.
// On a small or shared machine the numbers move between runs: the rounds interleave the three
// targets and the median is reported, so drift hits all of them alike.
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { join } from 'node:path';

const role = process.argv[2] ?? 'main';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const TARGET = 0.9;

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
  const routes = { routes: [{ pathPrefix: '/api', upstream, scopes: ['read'] }] };
  const config = loadConfig({
    KEYROLL_DATA_DIR: dataDir,
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
    payload: { consumerId: consumer.id, scopes: ['read'] },
  });
  const key = created.json().key;
  const gatewayUrl = await kr.gateway.listen(0);
  const authOff = new Gateway({ config: parseGatewayConfig(routes), verifier: null });
  const authOffUrl = await authOff.listen(0);
  process.send({ gatewayUrl, authOffUrl, key });
  process.on('message', async (m) => {
    // CPU time this process has used, so the driver can charge it to the target under load.
    if (m === 'cpu') return process.send({ cpu: process.cpuUsage() });
    if (m !== 'stop') return;
    await authOff.close();
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

async function load(url, headers, seconds) {
  const { default: autocannon } = await import('autocannon');
  const r = await autocannon({ url, connections: CONNECTIONS, duration: seconds, headers });
  if (r.errors > 0 || r.non2xx > 0 || r.timeouts > 0) {
    throw new Error(`${url}: ${r.errors} errors, ${r.non2xx} non-2xx, ${r.timeouts} time-outs`);
  }
  return { rps: r.requests.average, p99: r.latency.p99, requests: r.requests.total };
}

/** The proxies process's CPU time (µs) so far. */
function cpuOf(child) {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m.cpu));
    child.send('cpu');
  });
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function nginxVersion() {
  try {
    return execFileSync('nginx', ['-v'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString() || 'nginx';
  } catch {
    return null;
  }
}

async function main() {
  const loadBefore = os.loadavg()[0].toFixed(1);
  const upstream = await start(['upstream']);
  const upstreamUrl = `http://127.0.0.1:${upstream.info.port}`;
  const proxies = await start(['proxies', upstreamUrl]);
  const { gatewayUrl, authOffUrl, key } = proxies.info;
  const targets = [
    { name: 'direct', url: `${upstreamUrl}/api/items`, headers: {} },
    { name: 'authOff', url: `${authOffUrl}/api/items`, headers: {} },
    { name: 'gateway', url: `${gatewayUrl}/api/items`, headers: { 'x-api-key': key } },
  ];
  const runs = Object.fromEntries(targets.map((t) => [t.name, []]));
  try {
    for (const t of targets) await load(t.url, t.headers, 2); // warm-up: JIT, pools, key cache
    // Rounds interleave the targets so that drift of the machine hits all three alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of targets) {
        const before = await cpuOf(proxies.child);
        const run = await load(t.url, t.headers, SECONDS);
        const after = await cpuOf(proxies.child);
        const used = after.user + after.system - before.user - before.system;
        runs[t.name].push({ ...run, cpuUs: used / run.requests });
      }
    }
  } finally {
    proxies.child.send('stop');
    upstream.child.kill();
  }
  const result = Object.fromEntries(
    targets.map((t) => [
      t.name,
      {
        rps: Math.round(median(runs[t.name].map((r) => r.rps))),
        p99: median(runs[t.name].map((r) => r.p99)),
        // CPU of the proxy process per request: steady even when other work shares the machine.
        ...(t.name !== 'direct' && { cpuUsPerRequest: Number(median(runs[t.name].map((r) => r.cpuUs)).toFixed(1)) }),
      },
    ]),
  );
  const vsAuthOff = result.gateway.rps / result.authOff.rps;
  const perRound = runs.gateway.map((g, i) => g.rps / runs.authOff[i].rps);
  const vsDirect = result.gateway.rps / result.direct.rps;
  // Requests the same CPU serves with authentication, relative to without: the throughput ratio a
  // proxy bound by its own CPU reaches.
  const cpuRatio = result.authOff.cpuUsPerRequest / result.gateway.cpuUsPerRequest;
  const nginx = nginxVersion();
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
  ]) {
    console.log(
      `${label.padEnd(28)} ${String(result[name].rps).padStart(8)}   ${String(result[name].p99).padStart(8)}   ${String(result[name].cpuUsPerRequest ?? '-').padStart(8)}`,
    );
  }
  console.log(`\ngateway / auth off: ${vsAuthOff.toFixed(3)} (target ≥ ${TARGET})`);
  console.log(`  per round: ${perRound.map((r) => r.toFixed(3)).join(' ')}`);
  console.log(`gateway / direct:   ${vsDirect.toFixed(3)}`);
  console.log(`CPU per request, auth off / gateway: ${cpuRatio.toFixed(3)} (the same ratio, measured by CPU time)`);
  console.log(
    nginx
      ? `nginx found (${nginx.trim()}) but the nginx comparison is not implemented yet`
      : 'nginx: not installed, comparison skipped',
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
      nginx: null,
    }),
  );
}

if (role === 'upstream') await runUpstream();
else if (role === 'proxies') await runProxies(process.argv[3]);
else await main();
