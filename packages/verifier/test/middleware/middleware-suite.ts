import type { Clock } from '@keyroll/core';
import { generateKey, systemClock, VERIFY_CODES } from '@keyroll/core';
import { Verifier } from '@keyroll/verifier/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { eventually } from '../../../../test/support/eventually.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { send } from '../../../../test/support/http-send.js';
import {
  type CodeKeys,
  expectDeprecationHeaders,
  expectRefusal,
  keysForEveryCode,
} from '../../../../test/support/key-fixtures.js';

/** A provider's app built with one framework, listening on 127.0.0.1. */
export interface RunningApp {
  url: string;
  close(): Promise<void>;
}

/**
 * Starts an app with `GET /things` guarded by the adapter (scope `read`), answering
 * `{consumerId, keyId, deprecated}` from what the adapter attached, and `POST /bulk` guarded with
 * a cost of `x-cost` (default 1) credits.
 */
export type StartApp = (verifier: Verifier, clock: Clock) => Promise<RunningApp>;

/** The same suite for every adapter, against every database. */
export function middlewareSuite(framework: string, start: StartApp): void {
  describe(`${framework} middleware when storage is away`, () => {
    it('answers 503 problem+json for a key it cannot check, never 500 or a pass', async () => {
      const broken = new Verifier({ lookup: { get: () => Promise.reject(new Error('storage down')) } });
      const app = await start(broken, systemClock);
      try {
        const res = await send(app.url, 'GET', '/things', { 'x-api-key': generateKey('kr_live').key });
        expect(res.status).toBe(503);
        expect(res.headers['retry-after']).toBe('1');
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body).toMatchObject({ code: 'UNAVAILABLE', status: 503, instance: '/things' });
      } finally {
        await app.close();
      }
    });
  });

  for (const dialect of DIALECTS) {
    describe.skipIf(!dialect.available)(`${framework} middleware on ${dialect.name}`, () => {
      let h: Harness;
      let app: RunningApp;
      let keys: CodeKeys;
      beforeAll(async () => {
        h = await createHarness(dialect);
        app = await start(h.kr.verifier, h.clock);
        keys = await keysForEveryCode(h);
      });
      afterAll(async () => {
        await app?.close();
        await h?.close();
      });

      for (const code of VERIFY_CODES) {
        it(`answers ${code} keys as the gateway does`, async () => {
          const { key, prime } = keys.cases[code];
          for (let i = 0; i < prime; i++) {
            const primed = await send(app.url, 'GET', '/things', { 'x-api-key': key });
            expect(primed.status).toBe(200);
            expect(primed.headers['ratelimit-limit']).toMatch(/^\d+$/);
          }
          const res = await send(app.url, 'GET', '/things', { 'x-api-key': key });
          if (code === 'VALID') expect(res.status).toBe(200);
          else expectRefusal(res, code);
        });
      }

      it("checks a key's allowed addresses against the client's socket address", async () => {
        expect((await send(app.url, 'GET', '/things', { 'x-api-key': keys.loopbackOnly.key })).status).toBe(200);
      });

      it('asks for a key when none is presented', async () => {
        const res = await send(app.url, 'GET', '/things');
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer realm="keyroll"');
        expect(res.body).toMatchObject({ code: 'UNAUTHORIZED', instance: '/things' });
      });

      it('attaches the verified key to the request, from x-api-key or Bearer', async () => {
        const { key, keyId, consumerId } = keys.valid;
        const styles: Record<string, string>[] = [{ 'x-api-key': key }, { authorization: `Bearer ${key}` }];
        for (const headers of styles) {
          const res = await send(app.url, 'GET', '/things', headers);
          expect(res.status).toBe(200);
          expect(res.body).toEqual({ consumerId, keyId, deprecated: false });
        }
      });

      it('serves a deprecated key with Deprecation and Sunset headers', async () => {
        const res = await send(app.url, 'GET', '/things', { 'x-api-key': keys.deprecated.key });
        expect(res.status).toBe(200);
        expect(res.body.deprecated).toBe(true);
        expectDeprecationHeaders(res, keys.deprecated.retiresAt);
      });

      it('charges the cost the route computes against the quota', async () => {
        const quota = await h.consumerWithKey({ scopes: ['read'], quota: { limit: 10, period: 'day' } });
        const first = await send(app.url, 'POST', '/bulk', { 'x-api-key': quota.key, 'x-cost': '7' });
        expect(first.status).toBe(200);
        expect(first.headers['ratelimit-remaining']).toBe('3');
        expectRefusal(
          await send(app.url, 'POST', '/bulk', { 'x-api-key': quota.key, 'x-cost': '7' }),
          'QUOTA_EXCEEDED',
        );
        expect((await send(app.url, 'POST', '/bulk', { 'x-api-key': quota.key, 'x-cost': '3' })).status).toBe(200);
      });

      it('refuses a cost that is negative, fractional or NaN with a 400 naming it, counting nothing', async () => {
        const quota = await h.consumerWithKey({ scopes: ['read'], quota: { limit: 10, period: 'day' } });
        for (const cost of ['-1000000', '1.5', 'NaN', '1000001']) {
          const res = await send(app.url, 'POST', '/bulk', { 'x-api-key': quota.key, 'x-cost': cost });
          expect(res.status).toBe(400);
          expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
          expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', field: 'cost', value: String(Number(cost)) });
          expect(res.body.detail).toContain(String(Number(cost)));
        }
        const first = await send(app.url, 'POST', '/bulk', { 'x-api-key': quota.key, 'x-cost': '10' });
        expect(first.status).toBe(200);
        expect(first.headers['ratelimit-remaining']).toBe('0');
      });

      it('answers a root key exactly as an unknown key, and audits it once', async () => {
        const unknown = await send(app.url, 'GET', '/things', { 'x-api-key': keys.cases.NOT_FOUND.key });
        const rootKeyHeaders: Record<string, string>[] = [
          { 'x-api-key': h.rootKey },
          { authorization: `Bearer ${h.rootKey}` },
        ];
        for (const headers of rootKeyHeaders) {
          const res = await send(app.url, 'GET', '/things', headers);
          expectRefusal(res, 'NOT_FOUND');
          expect(res.body).toEqual(unknown.body);
          expect(res.headers['www-authenticate']).toBe(unknown.headers['www-authenticate']);
        }
        const audited = () =>
          h.kr.store.db
            .selectFrom('audit_events')
            .select('target_id')
            .where('action', '=', 'root_key.presented_to_verifier')
            .execute();
        await eventually(async () => (await audited()).length > 0);
        expect(await audited()).toHaveLength(1);
      });
    });
  }
}

/** The cost a test request asks for in `x-cost`. */
export function costHeader(value: string | string[] | undefined): number {
  return typeof value === 'string' ? Number(value) : 1;
}
