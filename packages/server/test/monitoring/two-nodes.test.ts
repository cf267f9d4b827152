import { createKeyroll, type Keyroll, loadConfig } from '@keyroll/server';
import { createStore, type Store } from '@keyroll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialectsWith } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { startReceiver } from '../webhooks/receiver.js';

const MINUTE = 60_000;

// Two nodes in one process: only on dialects that can (DialectCaps.twoNodes).
for (const dialect of dialectsWith('twoNodes')) {
  describe.skipIf(!dialect.available)(`monitoring on two nodes sharing ${dialect.name}`, () => {
    let h: Harness;
    let second: Keyroll;
    let secondStore: Store;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_WEBHOOK_ALLOW_PRIVATE: '1' });
      secondStore = createStore({ databaseUrl: h.db.url, dataDir: h.db.dataDir });
      const config = loadConfig({
        KEYROLL_DATA_DIR: h.db.dataDir,
        KEYROLL_DATABASE_URL: h.db.url,
        KEYROLL_WEBHOOK_ALLOW_PRIVATE: '1',
      });
      second = await createKeyroll(config, { clock: h.clock, store: secondStore });
    });
    afterAll(async () => {
      await second?.close();
      await secondStore?.close();
      await h?.close();
    });

    it('raises each alert once and delivers each event once when both nodes run the workers', async () => {
      const rx = await startReceiver();
      const hook = await h.json('POST', '/v1/webhooks', { url: rx.url, events: ['alert.raised', 'key.created'] }, 201);
      h.clock.set(Date.UTC(2026, 6, 1, 12, 0, 10));
      await Promise.all([h.kr.monitoring.evaluator.tick(), second.monitoring.evaluator.tick()]);
      const c = await h.consumerWithKey();
      await h.json('POST', `/v1/keys/${c.keyId}/revoke`, {}, 200);
      // Both nodes see the revoked key in use; each counts its own requests.
      await h.kr.verifier.verify(c.key);
      await second.verifier.verify(c.key);
      await second.verifier.verify(c.key);
      h.clock.advance(MINUTE);
      // Both nodes' counts are in storage before either evaluates (a node flushes only its own).
      await Promise.all([h.kr.usage.flush(), second.usage.flush()]);
      const raised = await Promise.all([h.kr.monitoring.evaluator.tick(), second.monitoring.evaluator.tick()]);
      expect(raised[0] + raised[1]).toBe(1);
      const [alert] = (await h.json('GET', '/v1/alerts?rule=retired_key_used', undefined, 200)).data;
      expect(alert.data).toMatchObject({ code: 'REVOKED', requests: 3 });

      for (let i = 0; i < 3; i++) {
        await Promise.all([h.kr.monitoring.dispatcher.tick(), second.monitoring.dispatcher.tick()]);
        await Promise.all([h.kr.monitoring.deliveries.tick(), second.monitoring.deliveries.tick()]);
      }
      // Each tick awaited its answers and the receiver records a request before answering it; a
      // further round on both nodes has nothing left to fan out or send.
      expect(await Promise.all([h.kr.monitoring.dispatcher.tick(), second.monitoring.dispatcher.tick()])).toEqual([
        0, 0,
      ]);
      expect(await Promise.all([h.kr.monitoring.deliveries.tick(), second.monitoring.deliveries.tick()])).toEqual([
        0, 0,
      ]);
      expect(rx.received.map((r) => JSON.parse(r.body).type).sort()).toEqual(['alert.raised', 'key.created']);
      await h.json('DELETE', `/v1/webhooks/${hook.id}`, undefined, 204);
      await rx.close();
    });

    it('alerts a revoked key seen by both nodes once, one round later, before its minute settles', async () => {
      h.clock.set(Date.UTC(2026, 6, 1, 13, 0, 10));
      await Promise.all([h.kr.monitoring.evaluator.tick(), second.monitoring.evaluator.tick()]);
      const c = await h.consumerWithKey();
      await h.json('POST', `/v1/keys/${c.keyId}/revoke`, {}, 200);
      await h.kr.verifier.verify(c.key);
      await second.verifier.verify(c.key);
      h.clock.advance(1_000);
      const raised = await Promise.all([h.kr.monitoring.evaluator.tick(), second.monitoring.evaluator.tick()]);
      expect(raised[0] + raised[1]).toBe(1);
      // The next rounds, on either node, know of the alert.
      await h.kr.verifier.verify(c.key);
      await second.verifier.verify(c.key);
      h.clock.advance(1_000);
      expect(await Promise.all([h.kr.monitoring.evaluator.tick(), second.monitoring.evaluator.tick()])).toEqual([0, 0]);
      const found = (await h.json('GET', '/v1/alerts?rule=retired_key_used', undefined, 200)).data;
      expect(found.filter((a: { keyId: string }) => a.keyId === c.keyId)).toHaveLength(1);
    });

    it("leaves out the old key's traffic from before the rotation on either node, in the start's minute", async () => {
      h.clock.set(Date.UTC(2026, 6, 1, 14, 0, 5));
      const nodes = [h.kr, second];
      await Promise.all(nodes.map((n) => n.monitoring.rotationStarts.tick()));
      const c = await h.consumerWithKey();
      await h.kr.verifier.verify(c.key);
      for (let i = 0; i < 3; i++) await second.verifier.verify(c.key);
      h.clock.advance(20_000);
      const rotated = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1h' }, 201);
      await h.kr.verifier.verify(c.key);
      await second.verifier.verify(c.key);
      await second.verifier.verify(rotated.key);
      h.clock.advance(1_000);
      await Promise.all(nodes.map((n) => n.monitoring.rotationStarts.tick()));
      await Promise.all(nodes.map((n) => n.usage.flush()));
      const rotation = await h.json('GET', `/v1/rotations/${rotated.rotation.id}`, undefined, 200);
      expect(rotation.progress).toMatchObject({ oldKeyRequests: 2, newKeyRequests: 1 });
      expect(rotation.traffic).toMatchObject({ oldKeyRequests: 2, newKeyRequests: 1 });
    });
  });
}
