import type { AddressInfo } from 'node:net';
import { generateKey } from '@keyroll/core';
import { createRemoteVerifier, type RemoteVerifier } from '@keyroll/verifier';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { eventually } from '../../../../test/support/eventually.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`usage flowing back from an edge on ${dialect.name}`, () => {
    let h: Harness;
    let token: string;
    let edge: RemoteVerifier;
    /** When set, the next usage report reaches the node but its answer is lost. */
    let loseNextAnswer = false;
    const sentBatches: string[] = [];

    beforeAll(async () => {
      h = await createHarness(dialect);
      await h.kr.app.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${(h.kr.app.server.address() as AddressInfo).port}`;
      token = await h.rootKeyWith(['dataplane:read']);
      const lossy: typeof fetch = async (input, init) => {
        const res = await fetch(input, init);
        if (String(input).endsWith('/v1/data-plane/usage')) {
          sentBatches.push(JSON.parse(String(init?.body)).id);
          if (loseNextAnswer) {
            loseNextAnswer = false;
            throw new TypeError('fetch failed: the answer was lost');
          }
        }
        return res;
      };
      // The node's clock is moved by minutes here: a bound of an hour keeps staleness out of these tests.
      edge = await createRemoteVerifier({
        url,
        token,
        clock: h.clock,
        usageFlushMs: 0,
        maxStalenessMs: 3_600_000,
        fetch: lossy,
      });
    });
    afterAll(async () => {
      await edge?.close();
      await h?.close();
    });

    const usageOf = async (keyId: string) => {
      const from = new Date(h.clock.now() - 3_600_000).toISOString();
      return h.json('GET', `/v1/keys/${keyId}/usage?from=${from}&granularity=minute`, undefined, 200);
    };

    it('counts edge verifications on the node, with last use, exactly once after a lost answer', async () => {
      const { key, keyId } = await h.consumerWithKey({ scopes: ['read'] });
      await eventually(async () => (await edge.verifier.verify(key)).code === 'VALID', 'the key at the edge');
      await edge.verifier.verify(key, { scopes: ['read'] });
      await edge.verifier.verify(key, { scopes: ['write'] });
      loseNextAnswer = true;
      await expect(edge.flushUsage()).rejects.toThrow(/answer was lost/);
      await edge.flushUsage(); // the same batch again, with the same id
      expect(sentBatches).toHaveLength(2);
      expect(sentBatches[1]).toBe(sentBatches[0]);
      const usage = await usageOf(keyId);
      expect(usage.total).toBe(3);
      expect(usage.codes).toEqual({ VALID: 2, INSUFFICIENT_SCOPE: 1 });
      const stored = await h.json('GET', `/v1/keys/${keyId}`, undefined, 200);
      expect(stored.lastUsedAt).toBe(new Date(h.clock.now()).toISOString());
    });

    it("a rotation's progress sees traffic verified at the edge", async () => {
      const c = await h.consumerWithKey();
      const res = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1d' }, 201);
      await eventually(async () => (await edge.verifier.verify(res.key)).code === 'VALID', 'the successor at the edge');
      h.clock.advance(2 * 60_000);
      for (let i = 0; i < 3; i++) expect((await edge.verifier.verify(c.key)).code).toBe('VALID');
      const lastOld = h.clock.now();
      h.clock.advance(60_000);
      await edge.verifier.verify(res.key);
      await edge.flushUsage();
      const got = await h.json('GET', `/v1/rotations/${res.rotation.id}`, undefined, 200);
      expect(got.progress).toMatchObject({
        oldKeyRequests: 3,
        newKeyRequests: 2, // the one that showed it had arrived, and the one after
        oldKeyLastUsedAt: new Date(lastOld).toISOString(),
      });
    });

    it("a rotation's old-key clients and unknown-key traffic include edge-only traffic, once after a lost answer", async () => {
      const c = await h.consumerWithKey();
      const res = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1d' }, 201);
      await eventually(async () => (await edge.verifier.verify(res.key)).code === 'VALID', 'the successor at the edge');
      const client = { ip: '203.0.113.77', userAgent: 'edge-client/2' };
      for (let i = 0; i < 2; i++) expect((await edge.verifier.verify(c.key, client)).code).toBe('VALID');
      const prober = { ip: '198.51.100.66' };
      // The edge's table answers for every hash, so a malformed key may be refused as NOT_FOUND: both are unknown keys.
      const malformed = (await edge.verifier.verify('not-a-key', prober)).code;
      expect(['MALFORMED', 'NOT_FOUND']).toContain(malformed);
      expect((await edge.verifier.verify(generateKey('kr_live').key, prober)).code).toBe('NOT_FOUND');
      loseNextAnswer = true;
      await expect(edge.flushUsage()).rejects.toThrow(/answer was lost/);
      await edge.flushUsage(); // the same batch, signals included, with the same id
      expect(sentBatches.at(-1)).toBe(sentBatches.at(-2));

      const rotation = await h.json('GET', `/v1/rotations/${res.rotation.id}`, undefined, 200);
      expect(rotation.traffic.oldKeyClients).toEqual([
        expect.objectContaining({ address: '203.0.113.77', userAgent: 'edge-client/2', requests: 2 }),
      ]);
      const from = new Date(h.clock.now() - 3_600_000).toISOString();
      const to = new Date(h.clock.now() + 3_600_000).toISOString();
      const unknown = await h.json('GET', `/v1/analytics/unknown-keys?from=${from}&to=${to}`, undefined, 200);
      const codes = malformed === 'NOT_FOUND' ? { NOT_FOUND: 2 } : { MALFORMED: 1, NOT_FOUND: 1 };
      expect(unknown.sources.find((s: { address: string }) => s.address === '198.51.100.66')).toMatchObject({
        total: 2,
        codes,
      });
    });

    it('applies a batch once by id, skips unknown keys and files counts under the key’s own consumer', async () => {
      const { keyId } = await h.consumerWithKey();
      const minute = h.clock.now() - (h.clock.now() % 60_000);
      const batch = {
        id: 'batch-0001-abcdef',
        buckets: [
          { keyId, minute, code: 'VALID', count: 5 },
          { keyId: 'key_unknown', minute, code: 'VALID', count: 7 },
        ],
        lastUsed: [{ keyId: 'key_unknown', at: minute }],
      };
      const send = () => h.request({ method: 'POST', url: '/v1/data-plane/usage', payload: batch, auth: token });
      expect((await send()).json()).toEqual({ applied: true });
      expect((await send()).json()).toEqual({ applied: false });
      expect((await usageOf(keyId)).total).toBe(5);
    });

    it('refuses a malformed batch with a 400 problem, and a root key without dataplane:read with 403', async () => {
      const bad = await h.request({
        method: 'POST',
        url: '/v1/data-plane/usage',
        payload: {
          id: 'batch-0002-abcdef',
          buckets: [{ keyId: 'k', minute: 1, code: 'VALID', count: -1 }],
          lastUsed: [],
        },
        auth: token,
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
      const narrow = await h.rootKeyWith(['analytics:read']);
      const refused = await h.request({
        method: 'POST',
        url: '/v1/data-plane/usage',
        payload: { id: 'batch-0003-abcdef', buckets: [], lastUsed: [] },
        auth: narrow,
      });
      expect(refused.statusCode).toBe(403);
    });
  });
}
