import type { AddressInfo } from 'node:net';
import { createVerifier } from '@keyroll/verifier';
import { keyrollExpress } from '@keyroll/verifier/express';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { send } from '../../../../test/support/http-send.js';

// Traffic verified by middleware in a provider's own process feeds the same analytics as the
// gateway's: one verification pipeline (issue 10 part 4).
for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`middleware traffic in keyroll's analytics on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect);
    });
    afterAll(() => h?.close());

    it("shows a client seen only by Express middleware among a rotation's old-key clients, and malformed keys as unknown-key traffic", async () => {
      const embedded = await createVerifier({ databaseUrl: h.db.url, usageFlushMs: 0, clock: h.clock });
      const app = express();
      app.get('/prices', keyrollExpress({ verifier: embedded.verifier }), (_req, res) => {
        res.json({ ok: true });
      });
      const server = app.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const { key, keyId } = await h.consumerWithKey();
      const rotated = await h.json('POST', `/v1/keys/${keyId}/rotate`, { gracePeriod: '1h' }, 201);
      try {
        const bot = { 'x-api-key': key, 'user-agent': 'express-only-bot/1.0' };
        for (let i = 0; i < 3; i++) expect((await send(base, 'GET', '/prices', bot)).status).toBe(200);
        for (let i = 0; i < 4; i++) {
          expect((await send(base, 'GET', '/prices', { 'x-api-key': 'kr_live_not-a-key' })).status).toBe(401);
        }
      } finally {
        await new Promise((r) => server.close(r));
        await embedded.close(); // writes what the embedded verifier counted
      }

      const traffic = await h.json('GET', `/v1/analytics/rotations/${rotated.rotation.id}`, undefined, 200);
      expect(traffic.oldKeyClients).toEqual([
        expect.objectContaining({ userAgent: 'express-only-bot/1.0', requests: 3 }),
      ]);
      const unknown = await h.json('GET', '/v1/analytics/unknown-keys', undefined, 200);
      expect(unknown.sources).toEqual([expect.objectContaining({ total: 4, codes: { MALFORMED: 4 } })]);
    });
  });
}
