import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { eventually } from '../../../../test/support/eventually.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { type SecondNode, startSecondNode } from './second-node.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`propagation between two nodes on ${dialect.name}`, () => {
    let h: Harness;
    let b: SecondNode;

    beforeAll(async () => {
      h = await createHarness(dialect);
      b = await startSecondNode(h, { nodeId: 'node-b' });
    });
    afterAll(async () => {
      await b?.close();
      await h?.close();
    });

    it('a key revoked on node A is refused by node B', async () => {
      const { key, keyId } = await h.consumerWithKey();
      expect(await b.verifyCode(key)).toBe('VALID'); // now cached on B
      await h.json('POST', `/v1/keys/${keyId}/revoke`, {}, 200);
      // Node A refuses it as soon as the revocation returns (its own change is applied before answering).
      expect((await h.json('POST', '/v1/keys/verify', { key }, 200)).code).toBe('REVOKED');
      await eventually(async () => (await b.verifyCode(key)) === 'REVOKED');
    });

    it('?wait=true answers once every live node has applied the change', async () => {
      const { key, keyId } = await h.consumerWithKey();
      expect(await b.verifyCode(key)).toBe('VALID');
      const res = await h.request({ method: 'POST', url: `/v1/keys/${keyId}/revoke?wait=true`, payload: {} });
      expect(res.statusCode).toBe(200);
      expect(res.headers['keyroll-propagation']).toMatch(/^complete; seq=\d+; nodes=2; waited=\d+ms$/);
      const body = res.json();
      expect(body).toMatchObject({ id: keyId, status: 'revoked' });
      expect(body.propagation).toMatchObject({ complete: true, applied: 2, lagging: [] });
      // No polling: B has applied the revocation by the time A answered.
      expect(await b.verifyCode(key)).toBe('REVOKED');
    });

    it('?wait=true works on any mutating route: an emergency rotation on B is refused at once on A', async () => {
      const { key, keyId } = await h.consumerWithKey();
      expect((await h.json('POST', '/v1/keys/verify', { key }, 200)).code).toBe('VALID');
      const res = await b.request({
        method: 'POST',
        url: `/v1/keys/${keyId}/rotate?wait=1&waitTimeout=3s`,
        payload: { gracePeriod: 0 },
      });
      expect(res.statusCode).toBe(201);
      expect(res.json().propagation).toMatchObject({ complete: true, lagging: [] });
      expect((await h.json('POST', '/v1/keys/verify', { key }, 200)).code).toBe('REVOKED');
      expect((await h.json('POST', '/v1/keys/verify', { key: res.json().key }, 200)).code).toBe('VALID');
    });

    it('GET /v1/cluster lists the live nodes, their applied sequence and lag (scope cluster:read)', async () => {
      // A node whose heartbeat stopped long ago is neither listed nor waited for.
      const now = Date.now();
      await h.db.store.db
        .insertInto('cluster_nodes')
        .values({
          id: 'node-gone',
          address: 'http://gone',
          applied_seq: 0,
          started_at: now - 120_000,
          heartbeat_at: now - 60_000,
        })
        .execute();
      const { keyId } = await h.consumerWithKey();
      await h.json('POST', `/v1/keys/${keyId}/revoke?wait=true`, {}, 200);

      const status = await h.json('GET', '/v1/cluster', undefined, 200);
      expect(status.node).toBe(h.kr.cluster.id);
      expect(status.nodes.map((n: any) => n.id).sort()).toEqual([h.kr.cluster.id, 'node-b'].sort());
      for (const n of status.nodes) {
        expect(n).toMatchObject({ appliedSeq: status.head, lag: 0, self: n.id === status.node });
      }
      expect(status.changeFeed).toMatchObject({
        mode: dialect.caps.notify ? 'postgres-notify' : 'poll',
        connected: true,
      });
      expect(status.cache.keys).toBeGreaterThan(0);

      const reader = await h.rootKeyWith(['keys:read']);
      expect((await h.request({ method: 'GET', url: '/v1/cluster', auth: reader })).statusCode).toBe(403);
      const operator = await h.rootKeyWith(['cluster:read']);
      expect((await h.request({ method: 'GET', url: '/v1/cluster', auth: operator })).statusCode).toBe(200);
    });

    it('rejects a malformed wait before doing anything', async () => {
      const { keyId } = await h.consumerWithKey();
      for (const query of ['wait=maybe', 'wait=true&waitTimeout=banana', 'wait=true&waitTimeout=120s']) {
        const res = await h.request({ method: 'POST', url: `/v1/keys/${keyId}/revoke?${query}`, payload: {} });
        expect(res.statusCode).toBe(400);
        expect(res.json().code).toBe('VALIDATION_FAILED');
      }
      expect((await h.json('GET', `/v1/keys/${keyId}`, undefined, 200)).status).toBe('active');
    });

    it('after waitTimeout, answers with the lagging nodes named (the change itself is done)', async () => {
      await b.kr.cluster.feed.close(); // B keeps heartbeating but stops applying changes
      const { key, keyId } = await h.consumerWithKey();
      const started = Date.now();
      const res = await h.request({
        method: 'POST',
        url: `/v1/keys/${keyId}/revoke?wait=true&waitTimeout=300ms`,
        payload: {},
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(res.statusCode).toBe(200);
      expect(res.headers['keyroll-propagation']).toMatch(/^timeout; seq=\d+; nodes=2; waited=\d+ms; lagging="node-b"$/);
      const body = res.json();
      expect(body.status).toBe('revoked');
      expect(body.propagation).toMatchObject({ complete: false, applied: 1 });
      expect(body.propagation.lagging).toEqual([
        { id: 'node-b', address: expect.any(String), appliedSeq: expect.any(Number) },
      ]);
      expect(body.propagation.lagging[0].appliedSeq).toBeLessThan(body.propagation.seq);
      expect((await h.json('POST', '/v1/keys/verify', { key }, 200)).code).toBe('REVOKED');
    });
  });
}
