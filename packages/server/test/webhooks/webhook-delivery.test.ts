import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { type Receiver, signatureHeaders, startReceiver } from './receiver.js';

const HOUR = 3_600_000;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`webhook delivery on ${dialect.name}`, () => {
    let h: Harness;
    let rx: Receiver;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_WEBHOOK_ALLOW_PRIVATE: '1', KEYROLL_WEBHOOK_MAX_ATTEMPTS: '3' });
    });
    afterAll(() => h?.close());
    beforeEach(async () => {
      rx = await startReceiver();
    });
    afterEach(() => rx.close());

    /** Fans out and delivers until nothing is due. */
    async function drain(): Promise<void> {
      for (let i = 0; i < 10; i++) {
        await h.kr.monitoring.dispatcher.tick();
        if ((await h.kr.monitoring.deliveries.tick()) === 0) return;
      }
    }

    it('signs events per Standard Webhooks, in order, with no secret in the payload', async () => {
      const hook = await h.json('POST', '/v1/webhooks', { url: rx.url, events: ['key.*'] }, 201);
      expect(hook.secret).toMatch(/^whsec_/);
      expect(hook.id).toMatch(/^whk_/);
      const { consumerId, key, keyId } = await h.consumerWithKey({ name: 'Production' });
      await h.json('POST', `/v1/keys/${keyId}/revoke`, { reason: 'leaked' }, 200);
      await drain();

      const got = await rx.waitFor(2);
      const verifier = new Webhook(hook.secret);
      const events = got.map((r) => verifier.verify(r.body, signatureHeaders(r)));
      expect(events).toEqual([
        {
          type: 'key.created',
          timestamp: expect.any(String),
          data: expect.objectContaining({ keyId, consumerId, name: 'Production', hint: expect.any(String) }),
        },
        {
          type: 'key.revoked',
          timestamp: expect.any(String),
          data: expect.objectContaining({ keyId, reason: 'leaked' }),
        },
      ]);
      for (const r of got) {
        expect(r.body).not.toContain(key);
        expect(r.body).not.toContain(hook.secret);
        expect(r.headers['content-type']).toBe('application/json');
      }
      const other = new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`);
      expect(() => other.verify(got[0]?.body ?? '', signatureHeaders(got[0] ?? got[1]!))).toThrow();
      const list = await h.json('GET', `/v1/webhooks/${hook.id}/deliveries`, undefined, 200);
      expect(list.data).toHaveLength(2);
      expect(
        list.data.every(
          (d: { status: string; responseStatus: number }) => d.status === 'delivered' && d.responseStatus === 200,
        ),
      ).toBe(true);
      await h.json('DELETE', `/v1/webhooks/${hook.id}`, undefined, 204);
    });

    it("sends a consumer-scoped webhook only that consumer's events, and nothing from before it existed", async () => {
      const a = await h.consumerWithKey();
      const hook = await h.json('POST', '/v1/webhooks', { url: rx.url, events: ['*'], consumerId: a.consumerId }, 201);
      const b = await h.consumerWithKey();
      await h.json('POST', `/v1/keys/${b.keyId}/revoke`, {}, 200);
      await h.json('POST', `/v1/keys/${a.keyId}/revoke`, {}, 200);
      await drain();
      // drain() returns once nothing is due and each tick awaited its answers, and the receiver
      // records a request before answering it: whatever was going to be sent has arrived.
      expect(await h.kr.monitoring.deliveries.tick()).toBe(0);
      const got = rx.received;
      expect(got).toHaveLength(1);
      expect((await h.json('GET', `/v1/webhooks/${hook.id}/deliveries`, undefined, 200)).data).toHaveLength(1);
      expect(JSON.parse(got[0]?.body ?? '{}')).toMatchObject({ type: 'key.revoked', data: { keyId: a.keyId } });
      await h.json('DELETE', `/v1/webhooks/${hook.id}`, undefined, 204);
    });

    it('delivers the events of one webhook in the order they happened', async () => {
      const hook = await h.json('POST', '/v1/webhooks', { url: rx.url, events: ['key.created', 'key.revoked'] }, 201);
      const { consumerId } = await h.consumerWithKey();
      const expected: string[] = [];
      for (let i = 0; i < 8; i++) {
        const k = await h.json('POST', '/v1/keys', { consumerId, name: `k${i}` }, 201);
        expected.push(`key.created:${k.id}`);
        if (i % 2 === 0) {
          await h.json('POST', `/v1/keys/${k.id}/revoke`, {}, 200);
          expected.push(`key.revoked:${k.id}`);
        }
      }
      await drain();
      const got = await rx.waitFor(expected.length + 1);
      const seen = got.map((r) => {
        const e = new Webhook(hook.secret).verify(r.body, signatureHeaders(r)) as {
          type: string;
          data: { keyId: string };
        };
        return `${e.type}:${e.data.keyId}`;
      });
      expect(seen.slice(1)).toEqual(expected);
      await h.json('DELETE', `/v1/webhooks/${hook.id}`, undefined, 204);
    });

    it('retries failures with backoff under the same webhook-id, then delivers', async () => {
      rx.respond = (n) => (n <= 2 ? 500 : 200);
      const hook = await h.json('POST', '/v1/webhooks', { url: rx.url, events: ['key.created'] }, 201);
      const { keyId } = await h.consumerWithKey();
      await drain();
      await rx.waitFor(1);
      let [d] = (await h.json('GET', `/v1/webhooks/${hook.id}/deliveries`, undefined, 200)).data;
      expect(d).toMatchObject({ status: 'retrying', attempts: 1, responseStatus: 500, lastError: 'HTTP 500' });
      const firstRetry = Date.parse(d.nextAttemptAt) - h.clock.now();
      expect(firstRetry).toBeGreaterThan(0);
      // Not due yet: nothing is sent.
      expect(await h.kr.monitoring.deliveries.tick()).toBe(0);

      h.clock.advance(HOUR);
      await drain();
      await rx.waitFor(2);
      [d] = (await h.json('GET', `/v1/webhooks/${hook.id}/deliveries`, undefined, 200)).data;
      expect(d).toMatchObject({ status: 'retrying', attempts: 2 });
      expect(Date.parse(d.nextAttemptAt) - h.clock.now()).toBeGreaterThanOrEqual(firstRetry);

      h.clock.advance(HOUR);
      await drain();
      const got = await rx.waitFor(3);
      [d] = (await h.json('GET', `/v1/webhooks/${hook.id}/deliveries`, undefined, 200)).data;
      expect(d).toMatchObject({ status: 'delivered', attempts: 3, responseStatus: 200, lastError: null });
      expect(new Set(got.map((r) => r.headers['webhook-id']))).toEqual(new Set([d.id]));
      const verifier = new Webhook(hook.secret);
      expect(verifier.verify(got[2]?.body ?? '', signatureHeaders(got[2]!))).toMatchObject({ data: { keyId } });
      await h.json('DELETE', `/v1/webhooks/${hook.id}`, undefined, 204);
    });

    it('marks a delivery dead after the last attempt, does not follow redirects, and redelivers by hand', async () => {
      rx.respond = () => 302;
      const hook = await h.json('POST', '/v1/webhooks', { url: rx.url, events: ['key.created'] }, 201);
      await h.consumerWithKey();
      for (let i = 0; i < 3; i++) {
        await drain();
        h.clock.advance(HOUR);
      }
      await rx.waitFor(3);
      expect(rx.received.every((r) => r.headers['webhook-id'] !== undefined)).toBe(true);
      const [d] = (await h.json('GET', `/v1/webhooks/${hook.id}/deliveries?status=dead`, undefined, 200)).data;
      expect(d).toMatchObject({ status: 'dead', attempts: 3, responseStatus: 302, nextAttemptAt: null });

      rx.respond = () => 204;
      const again = await h.json('POST', `/v1/webhooks/${hook.id}/deliveries/${d.id}/redeliver`, {}, 202);
      expect(again).toMatchObject({ status: 'pending', attempts: 0 });
      await drain();
      await rx.waitFor(4);
      const [done] = (await h.json('GET', `/v1/webhooks/${hook.id}/deliveries`, undefined, 200)).data;
      expect(done).toMatchObject({ id: d.id, status: 'delivered', attempts: 1, responseStatus: 204 });
      const metrics = await h.request({ method: 'GET', url: '/metrics', auth: null });
      expect(metrics.body).toMatch(/keyroll_webhook_deliveries_total\{outcome="dead"\} [1-9]/);
      expect(metrics.body).toMatch(/keyroll_webhook_deliveries_total\{outcome="delivered"\} [1-9]/);
      await h.json('DELETE', `/v1/webhooks/${hook.id}`, undefined, 204);
    });

    it('signs with both secrets during a secret rotation overlap, then with the new one only', async () => {
      const hook = await h.json('POST', '/v1/webhooks', { url: rx.url, events: ['key.created'] }, 201);
      const rotated = await h.json('POST', `/v1/webhooks/${hook.id}/rotate-secret`, { overlap: '1h' }, 200);
      expect(rotated.secret).not.toBe(hook.secret);
      expect((await h.json('GET', `/v1/webhooks/${hook.id}`, undefined, 200)).previousSecretExpiresAt).toBe(
        rotated.previousSecretExpiresAt,
      );
      await h.consumerWithKey();
      await drain();
      const [during] = await rx.waitFor(1);
      expect(String(during?.headers['webhook-signature']).split(' ')).toHaveLength(2);
      new Webhook(hook.secret).verify(during!.body, signatureHeaders(during!));
      new Webhook(rotated.secret).verify(during!.body, signatureHeaders(during!));

      h.clock.advance(2 * HOUR);
      await h.consumerWithKey();
      await drain();
      const after = (await rx.waitFor(2))[1]!;
      expect(() => new Webhook(hook.secret).verify(after.body, signatureHeaders(after))).toThrow();
      new Webhook(rotated.secret).verify(after.body, signatureHeaders(after));
      await h.json('DELETE', `/v1/webhooks/${hook.id}`, undefined, 204);
    });

    it('validates subscriptions and never shows the secret again', async () => {
      const bad = await h.request({ method: 'POST', url: '/v1/webhooks', payload: { url: rx.url, events: ['nope'] } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().code).toBe('VALIDATION_FAILED');
      const ftp = await h.request({
        method: 'POST',
        url: '/v1/webhooks',
        payload: { url: 'ftp://x.test/', events: ['*'] },
      });
      expect(ftp.statusCode).toBe(400);
      const noConsumer = await h.request({
        method: 'POST',
        url: '/v1/webhooks',
        payload: { url: rx.url, events: ['*'], consumerId: 'csm_nope' },
      });
      expect(noConsumer.statusCode).toBe(404);
      const hook = await h.json('POST', '/v1/webhooks', { url: rx.url, events: ['rotation.*'] }, 201);
      const got = await h.json('GET', `/v1/webhooks/${hook.id}`, undefined, 200);
      expect(got.secret).toBeUndefined();
      expect(JSON.stringify(await h.json('GET', '/v1/webhooks', undefined, 200))).not.toContain(hook.secret);
      const patched = await h.json(
        'PATCH',
        `/v1/webhooks/${hook.id}`,
        { events: ['alert.raised'], enabled: false },
        200,
      );
      expect(patched).toMatchObject({ events: ['alert.raised'], enabled: false });
      const reader = await h.rootKeyWith(['webhooks:read']);
      expect(
        (
          await h.request({
            method: 'POST',
            url: '/v1/webhooks',
            payload: { url: rx.url, events: ['*'] },
            auth: reader,
          })
        ).statusCode,
      ).toBe(403);
      expect((await h.request({ method: 'GET', url: '/v1/webhooks', auth: reader })).statusCode).toBe(200);
      await h.json('DELETE', `/v1/webhooks/${hook.id}`, undefined, 204);
      await h.json('GET', `/v1/webhooks/${hook.id}`, undefined, 404);
    });
  });
}
