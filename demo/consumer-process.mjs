// One consumer process of the end-to-end proof: sends requests continuously through both gateways
// with the built SDK (`@keyroll/client` resolves to packages/client/dist under Node.js) and reports over
// IPC. Never prints a key.
import { createClient, fromFile } from '@keyroll/client';

const env = process.env;
const gateways = (env.E2E_GATEWAYS ?? '').split(',');
const apis = (env.E2E_KEYROLL_URLS ?? '').split(',');
const loops = Number(env.E2E_LOOPS ?? 2);
const label = env.E2E_LABEL ?? 'consumer';
const GATEWAY_LB = 'http://gateway.lb';
const KEYROLL_LB = 'http://keyroll.lb';

// A round-robin "load balancer" over the two nodes, for the API traffic and for keyroll's API.
let turn = 0;
const balancedFetch = (input, init) => {
  const i = turn++;
  const url = String(input)
    .replace(GATEWAY_LB, gateways[i % gateways.length])
    .replace(KEYROLL_LB, apis[i % apis.length]);
  return fetch(url, init);
};

const stats = {
  sent: 0,
  ok: 0,
  failed: 0,
  totalMs: 0,
  maxMs: 0,
  failures: [],
  rotations: [],
  deprecations: 0,
  errors: [],
};

function makeClient(autoRotate) {
  const client = createClient({
    baseUrl: GATEWAY_LB,
    keyrollUrl: KEYROLL_LB,
    keys: fromFile(env.E2E_KEY_FILE, { pollMs: 200 }),
    fetch: balancedFetch,
    claimDelay: env.E2E_CLAIM_DELAY ?? '1s',
    ...(autoRotate ? { autoRotate } : {}),
  });
  client.on('rotated', (e) => stats.rotations.push({ at: Date.now(), ...e }));
  client.on('deprecated', () => stats.deprecations++);
  client.on('error', (e) => stats.errors.push({ at: Date.now(), code: e.code, status: e.status, message: e.message }));
  return client;
}

let client = makeClient(env.E2E_AUTO_ROTATE ? JSON.parse(env.E2E_AUTO_ROTATE) : undefined);
let running = true;

async function loop(n) {
  for (let i = 0; running; i++) {
    const post = i % 3 === 0;
    const init = post
      ? { method: 'POST', body: JSON.stringify({ label, n, i }), headers: { 'content-type': 'application/json' } }
      : { method: 'GET' };
    stats.sent++;
    const started = performance.now();
    try {
      const res = await client.fetch(`/api/ping?c=${label}&l=${n}`, init);
      if (res.status === 200) {
        stats.ok++;
        await res.arrayBuffer();
        const ms = performance.now() - started;
        stats.totalMs += ms;
        stats.maxMs = Math.max(stats.maxMs, ms);
      } else {
        stats.failed++;
        const body = await res.text();
        let code;
        try {
          const problem = JSON.parse(body);
          code = problem.verifyCode ?? problem.code;
        } catch {
          code = body.slice(0, 80);
        }
        stats.failures.push({
          startedAt: Date.now() - (performance.now() - started),
          at: Date.now(),
          status: res.status,
          code,
        });
      }
    } catch (e) {
      stats.failed++;
      stats.failures.push({
        startedAt: Date.now() - (performance.now() - started),
        at: Date.now(),
        status: 0,
        code: e?.code ?? String(e?.message ?? e),
      });
    }
  }
}

const running_ = Array.from({ length: loops }, (_, n) => loop(n));
const report = () => ({
  type: 'progress',
  label,
  sent: stats.sent,
  failed: stats.failed,
  rotations: stats.rotations.length,
  keyHint: client.keyHint,
});
const ticker = setInterval(() => process.send?.(report()), 200);

process.on('message', async (m) => {
  if (m.cmd === 'rotate') {
    client.rotate({ gracePeriod: m.gracePeriod }).then(
      (e) => process.send?.({ type: 'rotate-done', label, toKeyId: e.toKeyId }),
      (e) => process.send?.({ type: 'rotate-failed', label, code: e.code, message: e.message }),
    );
  } else if (m.cmd === 'stop-auto-rotate') {
    // Like a redeploy without autoRotate: a new client on the same file takes over, the old one drains
    // its requests in flight and closes (its timers with it) before this is confirmed.
    const old = client;
    client = makeClient(undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await old.close();
    process.send?.({ type: 'auto-rotate-stopped', label });
  } else if (m.cmd === 'stop') {
    running = false;
    await Promise.all(running_);
    clearInterval(ticker);
    await client.close();
    process.send?.({ type: 'final', label, keyHint: client.keyHint, ...stats }, () => process.exit(0));
  }
});
process.send?.({ type: 'ready', label });
