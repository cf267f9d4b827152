import type { AddressInfo } from 'node:net';
import { ManualClock } from '@keyroll/core/testing';
import { readChangeLogHead } from '@keyroll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { eventually } from '../../../../test/support/eventually.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { send } from '../../../../test/support/http-send.js';
import { type LoopbackUpstream, startUpstream } from '../../../../test/support/loopback-upstream.js';
import { loadEdgeConfig } from '../../src/data-plane/edge-config.js';
import { type EdgeNode, startEdge } from '../../src/data-plane/edge-node.js';

// Only SQLite: the edge process is the same over either control plane (edge-verifier.test.ts runs both).
const sqlite = DIALECTS.filter((d) => d.name === 'sqlite');

for (const dialect of sqlite) {
  describe(`keyroll edge (no database) following a node on ${dialect.name}`, () => {
    let h: Harness;
    let upstream: LoopbackUpstream;
    let edge: EdgeNode;
    let gateway: string;
    let verifyKey: string;
    const clock = new ManualClock();

    const caughtUp = async () => {
      const head = await readChangeLogHead(h.db.store.db);
      await eventually(() => edge.remote.status().appliedSeq >= head, `the edge to apply change ${head}`);
    };

    beforeAll(async () => {
      h = await createHarness(dialect);
      await h.kr.app.listen({ port: 0, host: '127.0.0.1' });
      upstream = await startUpstream();
      const config = loadEdgeConfig({
        KEYROLL_EDGE_UPSTREAM: `http://127.0.0.1:${(h.kr.app.server.address() as AddressInfo).port}`,
        KEYROLL_EDGE_TOKEN: await h.rootKeyWith(['dataplane:read']),
        KEYROLL_GATEWAY_CONFIG: JSON.stringify({ routes: [{ pathPrefix: '/api', upstream: upstream.url }] }),
        KEYROLL_EDGE_MAX_STALENESS: '5s',
        KEYROLL_EDGE_ID: `edge-node-${dialect.name}`,
      });
      clock.set(h.clock.now());
      verifyKey = await h.rootKeyWith(['keys:verify']);
      edge = await startEdge(config, { clock });
      if (!edge.gateway) throw new Error('the gateway was not configured');
      gateway = await edge.gateway.listen(0);
    });
    afterAll(async () => {
      await edge?.close();
      await upstream?.close();
      await h?.close();
    });

    const verifyAtEdge = (key: string) =>
      edge.app.inject({
        method: 'POST',
        url: '/v1/keys/verify',
        headers: { authorization: `Bearer ${verifyKey}` },
        payload: { key },
      });

    it('serves the verify API (root keys with keys:verify, checked from the edge table)', async () => {
      const { key, keyId } = await h.consumerWithKey();
      const readOnly = await h.rootKeyWith(['keys:read']);
      await caughtUp();
      const res = await verifyAtEdge(key);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ valid: true, code: 'VALID', keyId });
      const noScope = await edge.app.inject({
        method: 'POST',
        url: '/v1/keys/verify',
        headers: { authorization: `Bearer ${readOnly}` },
        payload: { key },
      });
      expect(noScope.statusCode).toBe(403);
    });

    it("shows in the control plane's cluster view under KEYROLL_EDGE_ID", async () => {
      const named = async () =>
        (await h.json('GET', '/v1/cluster', undefined, 200)).nodes.find(
          (n: { id: string }) => n.id === `edge-node-${dialect.name}`,
        );
      await eventually(async () => (await named()) !== undefined, 'the edge in the cluster view');
      expect(await named()).toMatchObject({ kind: 'edge', maxStalenessMs: 5000 });
    });

    it('serves the gateway: a revoked key is refused once the revocation arrived', async () => {
      const { key, keyId } = await h.consumerWithKey();
      await caughtUp();
      expect((await send(gateway, 'GET', '/api/things', { 'x-api-key': key })).status).toBe(200);
      await h.json('POST', `/v1/keys/${keyId}/revoke`, {}, 200);
      await caughtUp();
      const refused = await send(gateway, 'GET', '/api/things', { 'x-api-key': key });
      expect(refused.status).toBe(401);
    });

    it('is ready while current; stale beyond KEYROLL_EDGE_MAX_STALENESS: /readyz 503 and keys refused with 503 UNAVAILABLE', async () => {
      const { key } = await h.consumerWithKey();
      await caughtUp();
      expect((await edge.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      clock.advance(5_001);
      const ready = await edge.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ status: 'stale', link: { stale: true, onStale: 'refuse' } });
      const viaGateway = await send(gateway, 'GET', '/api/things', { 'x-api-key': key });
      expect(viaGateway.status).toBe(503);
      expect(viaGateway.body).toMatchObject({ code: 'UNAVAILABLE' });
      const viaApi = await verifyAtEdge(key);
      expect(viaApi.statusCode).toBe(503);
      expect(viaApi.json()).toMatchObject({ code: 'UNAVAILABLE', reason: 'stale' });
      await eventually(() => edge.remote.ready(), 'a heartbeat');
      expect((await edge.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    });

    it('answers forward-auth from the edge table: 200 with the ids, 401 for a revoked key', async () => {
      const { key, keyId, consumerId } = await h.consumerWithKey();
      await caughtUp();
      const ask = () =>
        edge.app.inject({
          method: 'GET',
          url: '/v1/forward-auth',
          headers: { 'x-api-key': key, 'x-original-method': 'GET', 'x-original-uri': '/api/things' },
        });
      const ok = await ask();
      expect(ok.statusCode).toBe(200);
      expect(ok.headers).toMatchObject({ 'x-keyroll-key-id': keyId, 'x-keyroll-consumer-id': consumerId });
      await h.json('POST', `/v1/keys/${keyId}/revoke`, {}, 200);
      await caughtUp();
      const refused = await ask();
      expect(refused.statusCode).toBe(401);
      expect(refused.json()).toMatchObject({ verifyCode: 'REVOKED' });
    });

    it('exposes its link and verifications in /metrics', async () => {
      const res = await edge.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.body).toMatch(/^keyroll_edge_keys \d+$/m);
      expect(res.body).toMatch(/^keyroll_edge_serving_stale 0$/m);
      expect(res.body).toMatch(/^keyroll_edge_verifications_total\{code="VALID"\} \d+$/m);
    });
  });
}

describe('a node with an edge connected', () => {
  it('shuts down without waiting for the edge to go away', async () => {
    const dialect = sqlite[0];
    if (!dialect) return;
    const h = await createHarness(dialect);
    await h.kr.app.listen({ port: 0, host: '127.0.0.1' });
    const config = loadEdgeConfig({
      KEYROLL_EDGE_UPSTREAM: `http://127.0.0.1:${(h.kr.app.server.address() as AddressInfo).port}`,
      KEYROLL_EDGE_TOKEN: await h.rootKeyWith(['dataplane:read']),
    });
    const edge = await startEdge(config);
    try {
      await eventually(() => edge.remote.status().connected, 'the edge to connect');
      await h.kr.app.close(); // would hang on the open event stream
      await eventually(() => !edge.remote.status().connected, 'the stream to end');
    } finally {
      await edge.close();
      await h.close();
    }
  });
});

describe('edge configuration', () => {
  const base = { KEYROLL_EDGE_UPSTREAM: 'https://keys.example.com', KEYROLL_EDGE_TOKEN: 'kr_root_x' };
  it('needs an upstream and a token, and reads the staleness bound and policy', () => {
    expect(() => loadEdgeConfig({})).toThrow(/KEYROLL_EDGE_UPSTREAM/);
    expect(() => loadEdgeConfig({ KEYROLL_EDGE_UPSTREAM: base.KEYROLL_EDGE_UPSTREAM })).toThrow(/KEYROLL_EDGE_TOKEN/);
    expect(loadEdgeConfig(base)).toMatchObject({ maxStalenessMs: 10_000, onStale: 'refuse', port: 7070 });
    expect(
      loadEdgeConfig({ ...base, KEYROLL_EDGE_MAX_STALENESS: '30s', KEYROLL_EDGE_ON_STALE: 'serve-cached' }),
    ).toMatchObject({ maxStalenessMs: 30_000, onStale: 'serve-cached' });
    expect(() => loadEdgeConfig({ ...base, KEYROLL_EDGE_ON_STALE: 'maybe' })).toThrow(/KEYROLL_EDGE_ON_STALE/);
    expect(loadEdgeConfig({ ...base, KEYROLL_EDGE_ID: 'edge-eu-1' }).edgeId).toBe('edge-eu-1');
    expect(() => loadEdgeConfig({ ...base, KEYROLL_EDGE_ID: 'edge eu' })).toThrow(/KEYROLL_EDGE_ID/);
    expect(loadEdgeConfig({ ...base, KEYROLL_USAGE_FLUSH_MS: '250' }).usageFlushMs).toBe(250);
    expect(() => loadEdgeConfig({ ...base, KEYROLL_USAGE_FLUSH_MS: '-1' })).toThrow(/KEYROLL_USAGE_FLUSH_MS/);
    expect(() => loadEdgeConfig({ ...base, KEYROLL_EDGE_MAX_STALENESS: '10ms' })).toThrow(/KEYROLL_EDGE_MAX_STALENESS/);
  });

  it('refuses plain http:// to a public address, accepts it on loopback and private networks', async () => {
    const { createRemoteVerifier } = await import('@keyroll/verifier');
    await expect(createRemoteVerifier({ url: 'http://keys.example.com', token: 't' })).rejects.toThrow(/https/);
    await expect(createRemoteVerifier({ url: 'http://203.0.113.7', token: 't' })).rejects.toThrow(/https/);
    await expect(createRemoteVerifier({ url: 'ftp://10.0.0.1', token: 't' })).rejects.toThrow(/https/);
    // Private and loopback addresses pass the URL check (and fail later, at the connection).
    const unreachable: typeof fetch = async () => {
      throw new TypeError('fetch failed');
    };
    for (const url of ['http://10.1.2.3:7070', 'http://192.168.0.5', 'http://[::1]:7070', 'http://localhost:7070']) {
      await expect(createRemoteVerifier({ url, token: 't', fetch: unreachable })).rejects.toThrow(/fetch failed/);
    }
  });
});
