import type { AddressInfo } from 'node:net';
import { ApiError, hashKey } from '@keyroll/core';
import { ManualClock } from '@keyroll/core/testing';
import { readChangeLogHead } from '@keyroll/storage';
import { createRemoteVerifier, type RemoteVerifier } from '@keyroll/verifier';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { eventually } from '../../../../test/support/eventually.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { type CuttableFetch, cuttableFetch } from './cuttable-fetch.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`an edge verifier following a node on ${dialect.name}`, () => {
    let h: Harness;
    let url: string;
    let token: string;
    let link: CuttableFetch;
    let clock: ManualClock;
    let edge: RemoteVerifier;

    /** Waits until the edge has applied everything the node has committed (the change arrived). */
    const caughtUp = async () => {
      const head = await readChangeLogHead(h.db.store.db);
      await eventually(() => edge.status().appliedSeq >= head, `the edge to apply change ${head}`);
    };
    const codeAtEdge = async (key: string) => (await edge.verifier.verify(key)).code;

    beforeAll(async () => {
      h = await createHarness(dialect);
      await h.kr.app.listen({ port: 0, host: '127.0.0.1' });
      url = `http://127.0.0.1:${(h.kr.app.server.address() as AddressInfo).port}`;
      token = await h.rootKeyWith(['dataplane:read']);
      link = cuttableFetch();
      clock = new ManualClock(h.clock.now());
      edge = await createRemoteVerifier({ url, token, clock, fetch: link.fetch });
    });
    afterAll(async () => {
      await edge?.close();
      await h?.close();
    });

    it('accepts a key created on the node, and refuses it once its revocation arrives', async () => {
      const { key, keyId } = await h.consumerWithKey({ scopes: ['read'] });
      await caughtUp();
      expect(await edge.verifier.verify(key, { scopes: ['read'] })).toMatchObject({ valid: true, keyId });
      expect(await edge.verifier.verify(key, { scopes: ['write'] })).toMatchObject({ code: 'INSUFFICIENT_SCOPE' });
      // Held at the edge: looked up and verified without a promise.
      expect(edge.keys.peek?.(hashKey(key))).toMatchObject({ id: keyId, revokedAt: null });
      expect(edge.verifier.verifyNow(key, { scopes: ['read'] })).toMatchObject({ valid: true, keyId });
      // The key was just read (it is hot at the edge): its revocation is seen all the same.
      await h.json('POST', `/v1/keys/${keyId}/revoke`, {}, 200);
      await caughtUp();
      expect(await codeAtEdge(key)).toBe('REVOKED');
      expect(edge.verifier.verifyNow(key)).toMatchObject({ code: 'REVOKED' });
      expect(edge.keys.peek?.(hashKey(key))?.revokedAt).toEqual(expect.any(Number));
    });

    it('refuses root keys like unknown ones, and verifies no key it never heard of', async () => {
      expect(await codeAtEdge(h.rootKey)).toBe('NOT_FOUND');
      const { key } = await h.consumerWithKey();
      await h.json('POST', '/v1/consumers', { name: 'later' }, 201);
      await caughtUp();
      expect(await codeAtEdge(key)).toBe('VALID');
    });

    it('resumes with Last-Event-ID after the link is cut and restored', async () => {
      await caughtUp();
      const loads = edge.status().snapshotLoads;
      link.cut();
      const { key, keyId } = await h.consumerWithKey();
      await h.json('POST', `/v1/keys/${keyId}/revoke`, {}, 200);
      link.restore();
      await caughtUp();
      expect(await codeAtEdge(key)).toBe('REVOKED');
      expect(edge.status().snapshotLoads).toBe(loads); // resumed, no reload
    });

    it('reloads the snapshot when the node has pruned past its position (410 CHANGES_PRUNED)', async () => {
      await caughtUp();
      const loads = edge.status().snapshotLoads;
      link.cut();
      const { key } = await h.consumerWithKey();
      const revoked = await h.consumerWithKey();
      await h.json('POST', `/v1/keys/${revoked.keyId}/revoke`, {}, 200);
      const head = await readChangeLogHead(h.db.store.db);
      // Retention keeps the head: prune everything before it.
      await h.db.store.db.deleteFrom('changes').where('seq', '<', head).execute();
      const res = await h.request({
        method: 'GET',
        url: '/v1/data-plane/changes',
        headers: { 'last-event-id': '1' },
        auth: token,
      });
      expect(res.statusCode).toBe(410);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ code: 'CHANGES_PRUNED', status: 410 });
      link.restore();
      await eventually(() => edge.status().snapshotLoads > loads, 'the snapshot to be reloaded');
      await caughtUp();
      expect(await codeAtEdge(key)).toBe('VALID');
      expect(await codeAtEdge(revoked.key)).toBe('REVOKED');
    });

    it('stops accepting keys once silent beyond maxStalenessMs, and again once heard from', async () => {
      const { key } = await h.consumerWithKey();
      await caughtUp();
      expect(await codeAtEdge(key)).toBe('VALID'); // read once: a hot key is refused all the same
      clock.advance(10_001);
      const refused = await edge.verifier.verify(key).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ApiError);
      expect(refused).toMatchObject({ code: 'UNAVAILABLE', details: { reason: 'stale' } });
      expect(() => edge.verifier.verifyNow(key)).toThrow(refused as ApiError);
      expect(() => edge.keys.peek?.(hashKey(key))).toThrow(/staleness bound/);
      expect(edge.ready()).toBe(false);
      // The next heartbeat (within a second) makes it current again.
      await eventually(() => edge.ready(), 'a heartbeat');
      expect(await codeAtEdge(key)).toBe('VALID');
    });

    it("with onStale: 'serve-cached' keeps accepting when stale, and says so", async () => {
      const cachedClock = new ManualClock(h.clock.now());
      const lenient = await createRemoteVerifier({ url, token, clock: cachedClock, onStale: 'serve-cached' });
      try {
        const { key } = await h.consumerWithKey();
        const expiresAt = new Date(cachedClock.now() + 3_600_000).toISOString();
        const expiring = await h.consumerWithKey({ expiresAt });
        await eventually(
          async () => (await lenient.verifier.verify(expiring.key)).code === 'VALID',
          'the keys at the edge',
        );
        cachedClock.advance(60_000);
        expect(lenient.status()).toMatchObject({ stale: true, refusing: false, onStale: 'serve-cached' });
        expect(lenient.ready()).toBe(true);
        expect((await lenient.verifier.verify(key)).code).toBe('VALID');
        // Deadlines are enforced locally either way: a key past its expiry is refused while stale.
        cachedClock.advance(3_600_000);
        expect((await lenient.verifier.verify(expiring.key)).code).toBe('EXPIRED');
      } finally {
        await lenient.close();
      }
    });

    it('refuses a root key without dataplane:read (403), and no key at all (401)', async () => {
      const narrow = await h.rootKeyWith(['keys:read']);
      for (const path of ['/v1/data-plane/snapshot', '/v1/data-plane/changes']) {
        const res = await h.request({ method: 'GET', url: path, auth: narrow });
        expect(res.statusCode).toBe(403);
        expect(res.json()).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'dataplane:read' });
        expect((await h.request({ method: 'GET', url: path, auth: null })).statusCode).toBe(401);
      }
      await expect(createRemoteVerifier({ url, token: narrow })).rejects.toThrow(/403 FORBIDDEN/);
    });

    it('the snapshot holds hashes, never a secret', async () => {
      const { key } = await h.consumerWithKey();
      const res = await fetch(`${url}/v1/data-plane/snapshot`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
      const text = await res.text();
      expect(text).not.toContain(key);
      expect(text).not.toContain(h.rootKey);
      expect(text).not.toContain(token);
      const lines = text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      // The head announces how many key lines follow (a hint an edge presizes its table with).
      expect(lines[0]).toEqual({ seq: expect.any(Number), keys: lines.filter((l) => 'key' in l).length });
      for (const line of lines.slice(1)) {
        if (line.key) expect(Object.keys(line.key)).not.toContain('hint');
      }
    });

    it('refuses a bad Last-Event-ID with a 400 problem', async () => {
      const res = await h.request({
        method: 'GET',
        url: '/v1/data-plane/changes',
        headers: { 'last-event-id': 'x' },
        auth: token,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    });
  });
}
