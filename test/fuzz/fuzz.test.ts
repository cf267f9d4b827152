import { Agent } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/databases.js';
import { createHarness, type Harness } from '../support/harness.js';
import { type EchoUpstream, startEchoUpstream } from './echo-upstream.js';
import { FuzzWorld } from './fuzz-world.js';
import {
  adminAuth,
  chaosCase,
  consumerAuth,
  type FuzzCase,
  forwardedGatewayCase,
  GATEWAY_PREFIXES,
  GATEWAY_ROUTES,
  gatewayCase,
  mangledPath,
  type Operation,
  operationsOf,
  rawCase,
  schemaCase,
  unknownPath,
} from './generators.js';
import { type FuzzFailure, judge, reportFailures } from './judge.js';
import { type FuzzResponse, isInjectMethod, sendHttp, sendInject, sendRaw, type WireRequest } from './senders.js';
import { ref, rootKeyRef } from './values.js';

/**
 * Issue 9, "kept holding": ≥ 10,000 generated requests across the admin API, self-service, the
 * verify API and the gateway — bodies, headers, paths, methods — and not one answer ≥ 500, not one
 * error that is not problem+json, and a healthy server afterwards.
 *
 * Seeded and bounded: `KEYROLL_FUZZ_SEED` replays a run (the seed is printed with any failure).
 * SQLite gets the full run; PostgreSQL, when `KEYROLL_TEST_PG_URL` is set, a fifth of it.
 */

const DEFAULT_SEED = 20_260_109;
const SEED = Number.parseInt(process.env.KEYROLL_FUZZ_SEED ?? '', 10) || DEFAULT_SEED;
/** Requests between two re-issues of the world's ids and keys (the fuzz revokes and deletes them). */
const REFRESH_EVERY = 500;
/** The least number of requests a full run must send: the number the design holds itself to. */
const AT_LEAST = 10_000;

/** How a batch reaches the server. */
type Via = 'inject' | 'http' | 'raw' | 'gateway' | 'gateway-raw';

/** One batch of the run: how many requests of which kind, sent which way. */
interface Batch {
  name: string;
  via: Via;
  count: number;
  cases: fc.Arbitrary<FuzzCase>;
}

function plan(ops: Operation[], scale: number): Batch[] {
  const admin = ops.filter((o) => o.path.startsWith('/v1/') && !o.path.startsWith('/v1/self'));
  const self = ops.filter((o) => o.path.startsWith('/v1/self'));
  const verify = ops.filter((o) => o.path === '/v1/keys/verify');
  if (admin.length < 40 || self.length === 0 || verify.length === 0) {
    throw new Error(`the OpenAPI document lists too few operations (${ops.length}) to fuzz`);
  }
  const verifyAuth = fc.oneof(
    {
      weight: 8,
      arbitrary: fc
        .constantFrom(ref('root', 'verify'), ref('root', 'star'))
        .map((k) => ({ authorization: `Bearer ${k}` })),
    },
    { weight: 2, arbitrary: adminAuth },
  );
  const adminCases = schemaCase(admin, adminAuth, 'admin');
  const selfCases = schemaCase(self, consumerAuth, 'self');
  const verifyCases = schemaCase(verify, verifyAuth, 'verify');
  const chaos = chaosCase(ops, fc.oneof(adminAuth, consumerAuth));
  const adminPaths = mangledPath(fc.oneof(fc.constantFrom(...ops.map((o) => o.path)), unknownPath));
  const gatewayPaths = mangledPath(fc.constantFrom(...GATEWAY_PREFIXES.map((p) => `${p}/things`)));
  const gatewayAuth = fc.oneof(
    consumerAuth,
    rootKeyRef.map((k) => ({ 'x-api-key': k })),
  );
  const n = (count: number) => Math.max(1, Math.round(count * scale));
  return [
    { name: 'admin API, schema-aware', via: 'inject', count: n(3600), cases: adminCases },
    { name: 'any route, chaos', via: 'inject', count: n(1600), cases: chaos },
    { name: 'self-service', via: 'inject', count: n(800), cases: selfCases },
    { name: 'verify API', via: 'inject', count: n(1000), cases: verifyCases },
    {
      name: 'API over a socket',
      via: 'http',
      count: n(1200),
      cases: fc.oneof(adminCases, chaos, selfCases, verifyCases),
    },
    { name: 'API, raw request lines', via: 'raw', count: n(200), cases: rawCase(adminPaths, adminAuth) },
    { name: 'gateway', via: 'gateway', count: n(1800), cases: gatewayCase() },
    {
      name: 'gateway, raw request lines',
      via: 'gateway-raw',
      count: n(200),
      cases: rawCase(gatewayPaths, gatewayAuth),
    },
    // Last, so that adding it left every other batch's seed, and so its sample, as it was.
    { name: 'gateway, forwarded', via: 'gateway', count: n(1000), cases: forwardedGatewayCase() },
  ];
}

/** A problem's `code`, with its `verifyCode` or `reason` when it has one (`-` for an answer that is no problem). */
function answerCode(res: FuzzResponse): string {
  try {
    const body: unknown = JSON.parse(res.raw.toString('utf8'));
    if (body === null || typeof body !== 'object' || !('code' in body)) return '-';
    const why = 'verifyCode' in body ? body.verifyCode : 'reason' in body ? body.reason : undefined;
    return why === undefined ? String(body.code) : `${String(body.code)}/${String(why)}`;
  } catch {
    return '-';
  }
}

for (const dialect of DIALECTS) {
  const scale = dialect.name === 'sqlite' ? 1 : 0.2;
  describe.skipIf(!dialect.available)(`fuzz on ${dialect.name} (seed ${SEED})`, () => {
    let h: Harness;
    let upstream: EchoUpstream;
    let apiBase: string;
    let gatewayBase: string;
    let ops: Operation[];
    // A connection per request, so that a failure is never blamed on the request after the one that caused it.
    const agent = new Agent({ keepAlive: false });

    beforeAll(async () => {
      upstream = await startEchoUpstream();
      const routes = GATEWAY_ROUTES.map((r) => ({ ...r, upstream: upstream.url }));
      h = await createHarness(dialect, { KEYROLL_GATEWAY_CONFIG: JSON.stringify({ routes }) });
      if (!h.kr.gateway) throw new Error('the gateway was not configured');
      gatewayBase = await h.kr.gateway.listen(0);
      apiBase = await h.kr.app.listen({ port: 0, host: '127.0.0.1' });
      ops = operationsOf(await h.json('GET', '/openapi.json', undefined, 200));
    });
    afterAll(async () => {
      agent.destroy();
      await h?.close();
      await upstream?.close();
    });

    it('answers every generated request below 500, every error as problem+json, and stays healthy', async () => {
      const world = new FuzzWorld(h);
      const batches = plan(ops, scale);
      const failures: FuzzFailure[] = [];
      const sentBy = new Map<string, number>();
      /** Answers by batch and status class, to show how deep the requests went. */
      const classes = new Map<string, Map<string, number>>();
      /** The gateway's answers by status and code (and verify code or path refusal reason), to tell why it forwarded little. */
      const gatewayAnswers = new Map<string, number>();
      let sent = 0;
      let refused = 0;
      const started = Date.now();

      for (const [b, batch] of batches.entries()) {
        const cases = fc.sample(batch.cases, { seed: SEED + b, numRuns: batch.count });
        for (const c of cases) {
          if (sent % REFRESH_EVERY === 0) await world.refresh();
          const request: WireRequest = {
            method: c.method,
            target: world.resolve(c.target),
            headers: Object.fromEntries(Object.entries(c.headers).map(([k, v]) => [k, world.resolve(v)])),
            ...(c.body === undefined ? {} : { body: Buffer.from(world.resolve(c.body), c.bodyEncoding ?? 'utf8') }),
          };
          // inject only speaks the methods Node's parser knows; the others go over a socket.
          const via: Via = batch.via === 'inject' && !isInjectMethod(request.method) ? 'http' : batch.via;
          let res: FuzzResponse;
          if (via === 'inject') res = await sendInject(h.kr.app, request);
          else if (via === 'http') res = await sendHttp(apiBase, request, agent);
          else if (via === 'gateway') res = await sendHttp(gatewayBase, request, agent);
          else if (via === 'raw') res = await sendRaw(apiBase, request);
          else res = await sendRaw(gatewayBase, request);
          if (res.status === -1) {
            // Node's client would not send it (say, a method token it rejects): the server saw nothing.
            refused++;
            continue;
          }
          sent++;
          sentBy.set(batch.name, (sentBy.get(batch.name) ?? 0) + 1);
          const byClass = classes.get(batch.name) ?? new Map<string, number>();
          const statusClass =
            res.status === 401 || res.status === 403 ? String(res.status) : `${Math.floor(res.status / 100)}xx`;
          byClass.set(statusClass, (byClass.get(statusClass) ?? 0) + 1);
          classes.set(batch.name, byClass);
          if (via === 'gateway' || via === 'gateway-raw') {
            const answer = `${res.status} ${answerCode(res)}`;
            gatewayAnswers.set(answer, (gatewayAnswers.get(answer) ?? 0) + 1);
          }
          const why = judge(request.method, res);
          if (why !== null) {
            failures.push({
              index: sent,
              strategy: c.strategy,
              via,
              request,
              status: res.status,
              why,
              contentType: String(res.headers['content-type'] ?? ''),
              body: res.raw.toString('utf8').slice(0, 2000),
            });
          }
        }
      }
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const summary = `seed ${SEED} (replay with KEYROLL_FUZZ_SEED=${SEED}) on ${dialect.name}: ${sent} requests in ${seconds} s, ${refused} refused by the client; ${[
        ...sentBy,
      ]
        .map(
          ([k, v]) =>
            `${k} ${v} (${[...(classes.get(k) ?? [])]
              .sort()
              .map(([c, n]) => `${c}: ${n}`)
              .join(' ')})`,
        )
        .join('; ')}`;
      // Path segments that name routes (not ids), for grouping failures by kind.
      const literals = new Set(
        [...ops, ...GATEWAY_PREFIXES.map((path) => ({ path }))]
          .flatMap((o) => o.path.split('/'))
          .filter((s) => !s.startsWith('{')),
      );
      const report = () => reportFailures(failures, summary, literals);

      // Bounded and counted: the run cannot silently send fewer requests than it promises.
      const planned = batches.reduce((sum, b) => sum + b.count, 0);
      expect(sent + refused, summary).toBe(planned);
      expect(refused, summary).toBeLessThanOrEqual(planned * 0.01);
      if (scale === 1) expect(sent, summary).toBeGreaterThanOrEqual(AT_LEAST);
      const answers = [...gatewayAnswers]
        .sort((a, b) => b[1] - a[1])
        .map(([answer, count]) => `${answer}: ${count}`)
        .join(', ');
      expect(
        upstream.served(),
        `the gateway forwarded nothing: the fuzz never got past its key check (gateway answers: ${answers})`,
      ).toBeGreaterThan(100);
      expect(failures.length, report()).toBe(0);
      // The run is bounded by its request count; this only guards against a hang. ~2 min alone, but
      // up to 4 under a busy machine's load: 240 s was hit twice while other work ran beside the suite.
    }, 420_000);

    it('is healthy after the run: probes, a fresh key, the gateway and the audit chain', async () => {
      const probe = async (path: string) =>
        (await sendHttp(apiBase, { method: 'GET', target: path, headers: {} }, agent)).status;
      expect(await probe('/healthz')).toBe(200);
      expect(await probe('/readyz')).toBe(200);
      const fresh = await h.consumerWithKey({ scopes: ['read'] });
      const verified = await h.json('POST', '/v1/keys/verify', { key: fresh.key, scopes: ['read'] }, 200);
      expect(verified).toMatchObject({ valid: true, code: 'VALID', keyId: fresh.keyId });
      const forwarded = await sendHttp(
        gatewayBase,
        { method: 'GET', target: '/api/things', headers: { 'x-api-key': fresh.key } },
        agent,
      );
      expect(forwarded.status).toBe(200);
      const chain = await h.json('GET', '/v1/audit/verify', undefined, 200);
      expect(chain).toMatchObject({ ok: true });
      expect(chain.events).toBeGreaterThan(100);
    });
  });
}
