import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

// A root key with a narrow scope must not reach a stronger root key: not by rotating it (the successor,
// whose secret the caller receives, inherits the stronger scopes), not by a rollover of the root
// consumer, and not by changing or revoking it.
for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`root keys cannot act on stronger root keys on ${dialect.name}`, () => {
    let h: Harness;
    let starKeyId: string;
    beforeAll(async () => {
      h = await createHarness(dialect);
      const roots = await h.json('GET', '/v1/keys?consumerId=root', undefined, 200);
      starKeyId = roots.data.find((k: { scopes: string[] }) => k.scopes.includes('*')).id;
      // A second `*` key, so that the last-root-key rule is not what refuses the requests below.
      await h.rootKeyWith(['*']);
    });
    afterAll(() => h?.close());

    it('refuses to rotate a root key into a successor with scopes the caller lacks', async () => {
      const rotator = await h.rootKeyWith(['keys:rotate']);
      for (const gracePeriod of ['1h', 0]) {
        const res = await h.request({
          method: 'POST',
          url: `/v1/keys/${starKeyId}/rotate`,
          payload: { gracePeriod },
          auth: rotator,
        });
        expect(res.statusCode, `gracePeriod ${gracePeriod}`).toBe(403);
        expect(res.json().code).toBe('FORBIDDEN');
        expect(res.body).not.toContain('kr_root_');
      }
      const rollover = await h.request({
        method: 'POST',
        url: '/v1/consumers/root/rollover',
        payload: { gracePeriod: '1h' },
        auth: rotator,
      });
      expect(rollover.statusCode).toBe(403);
      expect((await h.json('GET', `/v1/keys/${starKeyId}`, undefined, 200)).status).toBe('active');
    });

    it('refuses to roll back, complete or extend the rotation of a root key with scopes the caller lacks', async () => {
      const strong = await h.json('POST', '/v1/keys', { consumerId: 'root', scopes: ['*'] }, 201);
      const { rotation } = await h.json('POST', `/v1/keys/${strong.id}/rotate`, { gracePeriod: '1h' }, 201);
      const rotator = await h.rootKeyWith(['keys:rotate']);
      for (const [step, payload] of [
        ['rollback', undefined],
        ['complete', undefined],
        ['extend', { by: '1h' }],
      ] as const) {
        const res = await h.request({
          method: 'POST',
          url: `/v1/rotations/${rotation.id}/${step}`,
          ...(payload && { payload }),
          auth: rotator,
        });
        expect(res.statusCode, step).toBe(403);
      }
      const after = await h.json('GET', `/v1/rotations/${rotation.id}`, undefined, 200);
      expect(after.state).toBe('rolling');
      expect(after.extensions).toEqual([]);
    });

    it('refuses to change or revoke a root key with scopes the caller lacks', async () => {
      const writer = await h.rootKeyWith(['keys:write']);
      const patch = await h.request({
        method: 'PATCH',
        url: `/v1/keys/${starKeyId}`,
        payload: { allowedIps: ['192.0.2.1'] },
        auth: writer,
      });
      expect(patch.statusCode).toBe(403);
      const revoke = await h.request({ method: 'POST', url: `/v1/keys/${starKeyId}/revoke`, auth: writer });
      expect(revoke.statusCode).toBe(403);
      expect((await h.json('GET', `/v1/keys/${starKeyId}`, undefined, 200)).status).toBe('active');
    });

    it('still lets a root key rotate, change and revoke root keys within its own scopes', async () => {
      const keysAll = await h.rootKeyWith(['keys:*']);
      const weaker = await h.json('POST', '/v1/keys', { consumerId: 'root', scopes: ['keys:read'] }, 201, keysAll);
      await h.json('POST', `/v1/keys/${weaker.id}/rotate`, { gracePeriod: '1h' }, 201, keysAll);
      await h.json('PATCH', `/v1/keys/${weaker.id}`, { name: 'renamed' }, 200, keysAll);
      await h.json('POST', `/v1/keys/${weaker.id}/revoke`, undefined, 200, keysAll);
    });
  });
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`the last * root key on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect);
    });
    afterAll(() => h?.close());

    it('cannot be rotated into a successor without * (that locks everyone out once it retires)', async () => {
      const roots = await h.json('GET', '/v1/keys?consumerId=root', undefined, 200);
      const own = roots.data.find((k: { scopes: string[] }) => k.scopes.includes('*'));
      for (const gracePeriod of [0, '1h']) {
        const res = await h.request({
          method: 'POST',
          url: `/v1/keys/${own.id}/rotate`,
          payload: { gracePeriod, scopes: ['keys:read'] },
        });
        expect(res.statusCode, `gracePeriod ${gracePeriod}`).toBe(409);
      }
      expect((await h.json('GET', `/v1/keys/${own.id}`, undefined, 200)).status).toBe('active');
      // With another `*` key around, the same rotation is fine.
      await h.rootKeyWith(['*']);
      await h.json('POST', `/v1/keys/${own.id}/rotate`, { gracePeriod: '1h', scopes: ['keys:read'] }, 201);
    });
  });
}
