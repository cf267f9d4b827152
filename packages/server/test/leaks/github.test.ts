import { createHash } from 'node:crypto';
import { checksumOf, generateKey } from '@keyroll/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import {
  githubSignature,
  type KeysServer,
  type SigningKey,
  signingKey,
  startKeysServer,
} from './github-keys-server.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`POST /v1/leaks/github on ${dialect.name}`, () => {
    let h: Harness;
    let server: KeysServer;
    let current: SigningKey;
    let old: SigningKey;

    beforeAll(async () => {
      current = signingKey('gh-current');
      old = signingKey('gh-old', false);
      server = await startKeysServer([old, current]);
      h = await createHarness(dialect, { KEYROLL_GITHUB_KEYS_URL: server.url, KEYROLL_SCHEDULER_INTERVAL_MS: '0' });
    });
    afterAll(async () => {
      await h?.close();
      await server?.close();
    });

    const post = (body: string, headers: Record<string, string | undefined>) =>
      h.request({
        method: 'POST',
        url: '/v1/leaks/github',
        payload: body,
        headers: Object.fromEntries(
          Object.entries({ 'content-type': 'application/json', ...headers }).filter(([, v]) => v !== undefined),
        ) as Record<string, string>,
        auth: null,
      });
    const signed = (body: string, key: SigningKey = current) =>
      post(body, { 'github-public-key-identifier': key.id, 'github-public-key-signature': githubSignature(key, body) });
    /** Everything a refused post must leave alone. */
    const footprint = async () => {
      const db = h.kr.store.db;
      const count = async (table: 'audit_events' | 'incidents' | 'rotations' | 'keys' | 'alerts') =>
        Number(
          (
            await db
              .selectFrom(table)
              .select((eb) => eb.fn.countAll().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );
      return {
        audit: await count('audit_events'),
        incidents: await count('incidents'),
        rotations: await count('rotations'),
        keys: await count('keys'),
        alerts: await count('alerts'),
      };
    };

    it('answers feedback for many tokens, contains ours once, and changes nothing on a duplicate', async () => {
      const c = await h.consumerWithKey();
      const unknown = generateKey('kr_live').key;
      const badChecksum = `${c.key.slice(0, -6)}${c.key.slice(-6) === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA'}`;
      const foreignHead = 'ghp_0123456789abcdefghijABCDEFGHIJ0123456789abc';
      const foreign = foreignHead + checksumOf(foreignHead);
      const tokens = [c.key, unknown, badChecksum, foreign, 'not a key at all'];
      // GitHub's formatting, kept byte for byte: the signature is over exactly this text.
      const body = `[\n${tokens
        .map(
          (t) =>
            `  {"token": "${t}", "type": "keyroll_api_key", "url": "https://github.com/acme/app/blob/abc/.env", "source": "content"}`,
        )
        .join(',\n')}\n]`;
      const res = await signed(body);
      expect(res.statusCode).toBe(200);
      const feedback = res.json();
      expect(feedback).toEqual(
        tokens.map((t, i) => ({
          token_hash: sha256(t),
          token_type: 'keyroll_api_key',
          label: i === 0 ? 'true_positive' : 'false_positive',
        })),
      );
      expect(res.body).not.toContain(c.key);

      const incidents = (await h.json('GET', `/v1/incidents?consumerId=${c.consumerId}`, undefined, 200)).data;
      expect(incidents).toHaveLength(1);
      expect(incidents[0]).toMatchObject({
        keyId: c.keyId,
        source: 'github',
        url: 'https://github.com/acme/app/blob/abc/.env',
        action: 'rollover',
        status: 'open',
        reportedBy: 'system:github-secret-scanning',
      });
      expect(await h.json('POST', '/v1/keys/verify', { key: c.key }, 200)).toMatchObject({
        valid: true,
        deprecated: true,
      });

      // GitHub retries: the same answer, and nothing more changes (one incident, one successor).
      const before = await footprint();
      const again = await signed(body);
      expect(again.statusCode).toBe(200);
      expect(again.json()).toEqual(feedback);
      expect(await footprint()).toEqual(before);

      // The token itself is stored nowhere.
      const db = h.kr.store.db;
      for (const table of ['incidents', 'audit_events', 'alerts', 'rotations', 'changes'] as const) {
        const rows = await db.selectFrom(table).selectAll().execute();
        expect(JSON.stringify(rows), table).not.toContain(c.key);
      }
    });

    it('a non-current GitHub key still verifies', async () => {
      const res = await signed(`[{"token":"${generateKey('kr_live').key}","type":"t"}]`, old);
      expect(res.statusCode).toBe(200);
      expect(res.json()[0].label).toBe('false_positive');
    });

    it('refuses missing, malformed, forged and re-serialised signatures with nothing changed', async () => {
      const c = await h.consumerWithKey();
      const body = `[ {"token": "${c.key}", "type": "keyroll_api_key"} ]`;
      const before = await footprint();
      const forger = signingKey(current.id);
      const cases = [
        post(body, {}),
        post(body, { 'github-public-key-identifier': current.id }),
        post(body, { 'github-public-key-signature': githubSignature(current, body) }),
        post(body, { 'github-public-key-identifier': current.id, 'github-public-key-signature': 'not base64!' }),
        post(body, { 'github-public-key-identifier': current.id, 'github-public-key-signature': 'AAAA' }),
        // signed by another key under GitHub's identifier
        post(body, {
          'github-public-key-identifier': current.id,
          'github-public-key-signature': githubSignature(forger, body),
        }),
        // the same JSON, re-serialised: the signature no longer matches
        post(JSON.stringify(JSON.parse(body)), {
          'github-public-key-identifier': current.id,
          'github-public-key-signature': githubSignature(current, body),
        }),
        // signed by the old key but named as the current one
        post(body, {
          'github-public-key-identifier': current.id,
          'github-public-key-signature': githubSignature(old, body),
        }),
      ];
      for (const res of await Promise.all(cases)) {
        expect(res.statusCode, res.body).toBe(401);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.json().code).toBe('SIGNATURE_INVALID');
        expect(res.body).not.toContain(c.key);
      }
      expect(await footprint()).toEqual(before);
      expect((await h.json('POST', '/v1/keys/verify', { key: c.key }, 200)).deprecated).toBeFalsy();
    });

    it('refuses a signed body that is not an array of tokens (400) and other media types (415)', async () => {
      const before = await footprint();
      for (const body of ['{"token":"x"}', '"x"', 'not json', '[{"type":"no token"}]', '[{"token":42}]']) {
        const res = await signed(body);
        expect(res.statusCode, body).toBe(400);
        expect(res.json().code).toBe('VALIDATION_FAILED');
      }
      const text = await h.request({
        method: 'POST',
        url: '/v1/leaks/github',
        payload: '[]',
        headers: { 'content-type': 'text/plain' },
        auth: null,
      });
      expect(text.statusCode, text.body).toBe(415);
      expect(text.json().code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect((await signed('[]')).json()).toEqual([]);
      expect(await footprint()).toEqual(before);
    });

    it('refetches on an unknown identifier at most once per 10 s, and follows GitHub rotating its keys', async () => {
      const next = signingKey('gh-next');
      const body = `[{"token":"${generateKey('kr_live').key}","type":"t"}]`;
      h.clock.advance(10_000); // past the last fetch's quiet period
      const fetches = server.fetches;
      const first = await signed(body, next);
      expect(first.statusCode).toBe(401);
      expect(first.json().code).toBe('SIGNING_KEY_UNKNOWN');
      expect(server.fetches).toBe(fetches + 1);
      // GitHub publishes the key; within 10 s keyroll does not ask again.
      server.keys = [current, next];
      h.clock.advance(9_999);
      expect((await signed(body, next)).json().code).toBe('SIGNING_KEY_UNKNOWN');
      expect(server.fetches).toBe(fetches + 1);
      h.clock.advance(1);
      expect((await signed(body, next)).statusCode).toBe(200);
      expect(server.fetches).toBe(fetches + 2);
      // Cached: known identifiers never refetch; a key GitHub dropped stays cached (it was genuine).
      expect((await signed(body, current)).statusCode).toBe(200);
      expect(server.fetches).toBe(fetches + 2);
    });

    it('fails closed with 503 when GitHub cannot be reached and the key is not cached', async () => {
      server.failWith = 500;
      h.clock.advance(10_000);
      const res = await signed('[]', signingKey('gh-unreachable'));
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'UNAVAILABLE', reason: 'github_keys_unreachable' });
      server.failWith = null;
      // The cached keys still verify meanwhile.
      expect((await signed('[]')).statusCode).toBe(200);
    });
  });
}
