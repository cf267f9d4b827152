// @ts-check
// The rotation-under-load scenario of issue 6, shared by the end-to-end proof
// (test/e2e/rotation-under-load.test.ts, which asserts on its result) and `npm run demo`
// (demo/run.mjs, which shows it live). Plain JavaScript so that `npm run demo` runs it with node.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKeyroll, loadConfig } from '@keyroll/server';

const WORKER = fileURLToPath(new URL('./consumer-process.mjs', import.meta.url));

/**
 * @typedef {{ startedAt: number, at: number, status: number, code: string }} Failure
 * @typedef {{ at: number, how: string, fromKeyId?: string, toKeyId?: string }} Rotation
 * @typedef {{ label: string, sent: number, ok: number, failed: number, totalMs: number, maxMs: number,
 *   failures: Failure[], rotations: Rotation[], errors: { code: string, message: string }[] }} WorkerResult
 * @typedef {{ label: string, sent: number, failed: number, rotations: number }} Progress
 * @typedef {{ id: string, keyId: string, file: string }} DemoConsumer
 * @typedef {{ id: string, status: string }} KeyView
 * @typedef {{
 *   workers: WorkerResult[],
 *   keysByConsumer: Record<string, KeyView[]>,
 *   rotations: { consumerId: string, origin: string, successorClaimed: boolean }[],
 *   policyConsumerId: string,
 *   reclaimAttempts: number,
 *   upstreamRequests: number,
 *   keyReachedUpstream: boolean,
 *   emergency: { revokedAt: number, deliveredAt: number },
 * }} ScenarioResult
 * @typedef {{
 *   databaseUrl: string | undefined,
 *   onProgress?: (progress: Progress[]) => void,
 *   onStep?: (message: string) => void,
 * }} ScenarioOptions
 */

/** A consumer process and what it last reported. */
class Worker {
  /**
   * @param {string} label
   * @param {Record<string, string>} env
   */
  constructor(label, env) {
    this.label = label;
    /** @type {Progress} */
    this.progress = { label, sent: 0, failed: 0, rotations: 0 };
    this.child = fork(WORKER, [], {
      // A plain Node.js process, as users run the SDK: no test runner flags (e.g. `--conditions source`).
      execArgv: [],
      env: { ...process.env, NODE_OPTIONS: '', ...env, E2E_LABEL: label },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    /** @type {(value: void) => void} */
    let onReady = () => undefined;
    /** @type {(value: WorkerResult) => void} */
    let onFinal = () => undefined;
    /** @type {(error: Error) => void} */
    let onExit = () => undefined;
    /** @type {Promise<void>} */
    this.ready = new Promise((resolve, reject) => {
      onReady = resolve;
      onExit = reject;
    });
    /** @type {Promise<WorkerResult>} */
    this.final = new Promise((resolve, reject) => {
      onFinal = resolve;
      const failReady = onExit;
      onExit = (error) => {
        failReady(error);
        reject(error);
      };
    });
    this.final.catch(() => undefined);
    /** @type {Map<string, (message: any) => void>} */
    this.replies = new Map();
    this.child.on('message', (/** @type {any} */ m) => {
      if (m.type === 'progress') this.progress = m;
      this.replies.get(m.type)?.(m);
      if (m.type === 'ready') onReady();
      if (m.type === 'final') onFinal(m);
    });
    this.child.on('exit', (code) => onExit(new Error(`consumer process ${label} exited (${code})`)));
  }

  /** @param {Record<string, unknown>} cmd */
  send(cmd) {
    this.child.send(cmd);
  }

  /**
   * Sends `cmd` and waits for the message of type `reply`.
   * @param {Record<string, unknown>} cmd
   * @param {string} reply
   */
  ask(cmd, reply) {
    const answered = new Promise((resolve) => this.replies.set(reply, resolve));
    this.send(cmd);
    return answered;
  }
}

/** A loopback upstream: 200 for everything; it counts requests and notes any that still carried a key. */
async function startUpstream() {
  const seen = { requests: 0, keyReached: false };
  const server = createServer((req, res) => {
    seen.requests++;
    if (req.headers['x-api-key'] !== undefined || req.headers.authorization !== undefined) seen.keyReached = true;
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve(undefined));
      }),
  };
}

/**
 * Polls `check` until it holds.
 * @param {() => boolean | Promise<boolean>} check
 * @param {string} what
 * @param {number} timeoutMs
 */
async function until(check, what, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Replaces a key file the way an operator's tooling would: write aside, then rename over it.
 * @param {string} file
 * @param {string} key
 */
function dropKeyInto(file, key) {
  writeFileSync(`${file}.operator`, `${key}\n`, { mode: 0o600 });
  renameSync(`${file}.operator`, file);
}

/**
 * Runs the scenario: two keyroll nodes on one database, each with its gateway in front of one
 * loopback upstream; eight consumer processes (the built SDK) send through both gateways while keys
 * are rotated by an operator, by the consumers (rotate(), autoRotate), by a rotation policy (the SDKs
 * claim the successors; two processes share a key file) and by an emergency rollover. Returns what
 * happened; the caller judges it. Needs `npm run build` (or the e2e test's build of the SDK).
 * @param {ScenarioOptions} options
 * @returns {Promise<ScenarioResult>}
 */
export async function runRotationScenario({ databaseUrl, onProgress = () => undefined, onStep = () => undefined }) {
  const dir = mkdtempSync(join(tmpdir(), 'keyroll-scenario-'));
  const upstream = await startUpstream();
  /** @type {import('@keyroll/server').Keyroll[]} */
  const nodes = [];
  /** @type {Worker[]} */
  const workers = [];
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let ticker;
  try {
    const gatewayConfig = JSON.stringify({ routes: [{ pathPrefix: '/api', upstream: upstream.url }] });
    // Nodes sharing a database seal its audit chain with one key (docs/audit.md).
    const auditKey = randomBytes(32).toString('base64url');
    for (const name of ['a', 'b']) {
      // Without a database URL both nodes share one SQLite file in one data directory.
      const dataDir = databaseUrl ? join(dir, `node-${name}`) : dir;
      mkdirSync(dataDir, { recursive: true });
      const config = loadConfig({
        KEYROLL_DATA_DIR: dataDir,
        ...(databaseUrl ? { KEYROLL_DATABASE_URL: databaseUrl } : {}),
        KEYROLL_GATEWAY_CONFIG: gatewayConfig,
        KEYROLL_SCHEDULER_INTERVAL_MS: '250',
        KEYROLL_AUDIT_KEY: auditKey,
      });
      nodes.push(await createKeyroll(config, { cluster: { nodeId: `node-${name}` } }));
    }
    const rootKey = nodes[0]?.bootstrap?.rootKey;
    if (!rootKey) throw new Error('node a should have made the root key on an empty database');
    const apiUrls = await Promise.all(nodes.map((n) => n.app.listen({ port: 0, host: '127.0.0.1' })));
    const gatewayUrls = await Promise.all(
      nodes.map((n) => {
        if (!n.gateway) throw new Error('the gateway is not configured');
        return n.gateway.listen(0);
      }),
    );
    onStep(`2 nodes up: API ${apiUrls.join(' ')} · gateways ${gatewayUrls.join(' ')}`);

    /**
     * An admin API call with the root key.
     * @param {string} method
     * @param {string} path
     * @param {unknown} [body]
     * @param {number} [node]
     * @returns {Promise<any>}
     */
    const admin = async (method, path, body, node = 0) => {
      const res = await fetch(`${apiUrls[node]}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${rootKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    };

    /** @type {Record<string, DemoConsumer>} */
    const consumers = {};
    for (const name of ['operator', 'self', 'auto', 'policy', 'emergency', 'bystander']) {
      const consumer = await admin('POST', '/v1/consumers', { name: `demo-${name}` });
      const key = await admin('POST', '/v1/keys', { consumerId: consumer.id, name: 'production' });
      const file = join(dir, `${name}.key`);
      writeFileSync(file, `${key.key}\n`, { mode: 0o600 });
      consumers[name] = { id: consumer.id, keyId: key.id, file };
    }
    /** @param {string} name */
    const consumer = (name) => {
      const c = consumers[name];
      if (!c) throw new Error(`no consumer ${name}`);
      return c;
    };
    // Case 3: a rotation policy starts a server-side rotation once the key is 4 s old.
    await admin('PUT', `/v1/rotation-policies/${consumer('policy').id}`, { every: '4s', gracePeriod: '6s' });

    /**
     * @param {string} label
     * @param {string} name
     * @param {Record<string, string>} [extra]
     */
    const spawn = (label, name, extra = {}) => {
      const w = new Worker(label, {
        E2E_GATEWAYS: gatewayUrls.join(','),
        E2E_KEYROLL_URLS: apiUrls.join(','),
        E2E_KEY_FILE: consumer(name).file,
        E2E_LOOPS: '2',
        ...extra,
      });
      workers.push(w);
      return w;
    };
    const operator = spawn('operator', 'operator');
    const selfA = spawn('self-a', 'self');
    const selfB = spawn('self-b', 'self'); // shares its key file with self-a
    const auto = spawn('auto', 'auto', {
      E2E_AUTO_ROTATE: JSON.stringify({ every: '5s', jitter: '1s', gracePeriod: '2s' }),
    });
    const policyA = spawn('policy-a', 'policy');
    const policyB = spawn('policy-b', 'policy'); // shares its key file with policy-a: one claims, one reads
    const emergency = spawn('emergency', 'emergency');
    spawn('bystander', 'bystander');
    await Promise.all(workers.map((w) => w.ready));
    ticker = setInterval(() => onProgress(workers.map((w) => w.progress)), 500);
    await until(() => workers.every((w) => w.progress.sent > 20), 'traffic from every consumer', 15_000);
    onStep('8 consumer processes are sending through both gateways');

    // Case 1: an operator rotates over the admin API (node b) and drops the new key into the file.
    const op = consumer('operator');
    const opRotation = await admin('POST', `/v1/keys/${op.keyId}/rotate`, { gracePeriod: '3s' }, 1);
    dropKeyInto(op.file, opRotation.key);
    onStep('case 1: operator rotated a key on node b (grace 3s) and dropped the new key into the watched file');

    // Case 2: a consumer rolls its own key with rotate(); its sibling process picks it up from the file.
    selfA.send({ cmd: 'rotate', gracePeriod: '3s' });
    onStep('case 2: consumer "self" calls client.rotate({ gracePeriod: "3s" }); "auto" has autoRotate every 5s');

    // Case 4: emergency rollover: the key is revoked now; its replacement lands in the file 500 ms later.
    const em = consumer('emergency');
    const revokedAt = Date.now();
    const emRotation = await admin('POST', `/v1/keys/${em.keyId}/rotate`, { gracePeriod: 0, reason: 'leaked' });
    await sleep(500);
    // Stamped before the write: the consumer may pick the key up within the same millisecond as the
    // rename, so a stamp taken after it could come later than the pickup.
    const deliveredAt = Date.now();
    dropKeyInto(em.file, emRotation.key);
    onStep('case 4: emergency rollover of "emergency" (revoked now, new key in its file 500 ms later)');

    // Case 3 happens by itself (scheduler + claims); autoRotate fires 4-5 s after its key was made.
    await until(
      () => [operator, selfA, selfB, policyA, policyB, emergency, auto].every((w) => w.progress.rotations >= 1),
      'every case to rotate',
      25_000,
    );
    onStep('case 3: the policy rotation was claimed by one "policy" process, the other read the file');
    await admin('DELETE', `/v1/rotation-policies/${consumer('policy').id}`);
    await auto.ask({ cmd: 'stop-auto-rotate' }, 'auto-rotate-stopped');

    // Traffic goes on until every old key has retired (deadlines of 2-6 s): retirement happens under load.
    /** @returns {Promise<Record<string, KeyView[]>>} */
    const keysByConsumer = async () => {
      /** @type {Record<string, KeyView[]>} */
      const out = {};
      for (const [name, c] of Object.entries(consumers)) {
        out[name] = (await admin('GET', `/v1/keys?consumerId=${c.id}&limit=100`)).data;
      }
      return out;
    };
    await until(
      async () => Object.values(await keysByConsumer()).every((keys) => keys.every((k) => k.status !== 'deprecated')),
      'every old key to retire',
      20_000,
    );
    onStep('every old key has retired; stopping the consumers');
    await sleep(300);

    for (const w of workers) w.send({ cmd: 'stop' });
    const results = await Promise.all(workers.map((w) => w.final));
    const audit = await admin('GET', '/v1/audit?limit=100&action=successor.reclaim_attempted');
    return {
      workers: results,
      keysByConsumer: await keysByConsumer(),
      rotations: (await admin('GET', '/v1/rotations?limit=100')).data,
      policyConsumerId: consumer('policy').id,
      reclaimAttempts: audit.data.filter(
        (/** @type {{action: string}} */ e) => e.action === 'successor.reclaim_attempted',
      ).length,
      upstreamRequests: upstream.seen.requests,
      keyReachedUpstream: upstream.seen.keyReached,
      emergency: { revokedAt, deliveredAt },
    };
  } finally {
    if (ticker) clearInterval(ticker);
    for (const w of workers) if (w.child.exitCode === null) w.child.kill();
    for (const n of nodes) await n.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
