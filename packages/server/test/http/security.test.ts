import { Writable } from 'node:stream';
import { generateKey, hashKey, parseKey } from '@keyroll/core';
import { ManualClock } from '@keyroll/core/testing';
import { buildApp, createKeyroll, type Keyroll, loadConfig } from '@keyroll/server';
import type { Store } from '@keyroll/storage';
import { type CachedKey, type KeyLookup, StorageKeyLookup, Verifier } from '@keyroll/verifier/internal';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Every variant of `key` with exactly one character replaced by another. */
function oneCharacterChanges(key: string): string[] {
  return [...key].map((c, i) => {
    const pool = /[0-9A-Za-z]/.test(c) ? BASE62 : 'abc';
    const other = pool[(pool.indexOf(c) + 1 + i) % pool.length] ?? 'x';
    return key.slice(0, i) + (other === c ? 'z' : other) + key.slice(i + 1);
  });
}

/** A real storage lookup that records the hash of every key it is asked for. */
class RecordingLookup implements KeyLookup {
  readonly asked: string[] = [];
  readonly #inner: StorageKeyLookup;

  constructor(store: Store) {
    this.#inner = new StorageKeyLookup(store);
  }

  get(hash: string): Promise<CachedKey | null> {
    this.asked.push(hash);
    return this.#inner.get(hash);
  }
}

/** Every text cell of every table, as one string per row. */
async function allRows(store: Store): Promise<string[]> {
  const tables =
    store.dialect === 'sqlite'
      ? await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(store.db)
      : await sql<{
          name: string;
        }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(
          store.db,
        );
  const rows: string[] = [];
  for (const { name } of tables.rows) {
    const result = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(store.db);
    for (const row of result.rows) rows.push(`${name}: ${JSON.stringify(row)}`);
  }
  return rows;
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`security over HTTP on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect);
    });
    afterAll(() => h?.close());

    describe('authentication and scopes', () => {
      const adminRoutes: [string, string, unknown?][] = [
        ['GET', '/v1/consumers'],
        ['POST', '/v1/consumers', { name: 'x' }],
        ['GET', '/v1/consumers/root'],
        ['PATCH', '/v1/consumers/root', { name: 'x' }],
        ['DELETE', '/v1/consumers/csm_x'],
        ['GET', '/v1/keys'],
        ['POST', '/v1/keys', { consumerId: 'root' }],
        ['GET', '/v1/keys/key_x'],
        ['PATCH', '/v1/keys/key_x', { name: 'x' }],
        ['POST', '/v1/keys/key_x/revoke', {}],
        ['POST', '/v1/keys/verify', { key: 'x' }],
        ['GET', '/v1/audit'],
        ['GET', '/v1/audit/verify'],
      ];

      it('answers a missing or unusable root key with 401 and WWW-Authenticate on every admin route', async () => {
        const { key: consumerKey } = await h.consumerWithKey();
        const revoked = await h.json('POST', '/v1/keys', { consumerId: 'root', scopes: ['*'] }, 201);
        await h.json('POST', `/v1/keys/${revoked.id}/revoke`, {}, 200);
        for (const [method, url, body] of adminRoutes) {
          const payload = body === undefined ? {} : { payload: body as object };
          const none = await h.request({ method: method as 'GET', url, ...payload, auth: null });
          expect(none.statusCode, `${method} ${url}`).toBe(401);
          expect(none.headers['www-authenticate']).toMatch(/^Bearer realm="keyroll"/);
          expect(none.headers['content-type']).toMatch(/^application\/problem\+json/);
          expect(none.json().code).toBe('UNAUTHORIZED');

          for (const bad of [
            'not-a-key',
            generateKey('kr_root').key,
            revoked.key,
            oneCharacterChanges(h.rootKey)[20] ?? '',
          ]) {
            const res = await h.request({ method: method as 'GET', url, ...payload, auth: bad });
            expect(res.statusCode, `${method} ${url} with ${bad}`).toBe(401);
            expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
          }
          const wrongScheme = await h.request({
            method: method as 'GET',
            url,
            ...payload,
            auth: null,
            headers: { authorization: `Basic ${h.rootKey}` },
          });
          expect(wrongScheme.statusCode).toBe(401);

          // A consumer's valid key is not a root key, even in x-api-key.
          const consumer = await h.request({ method: method as 'GET', url, ...payload, auth: consumerKey });
          expect(consumer.statusCode, `${method} ${url}`).toBe(403);
          expect(consumer.json().code).toBe('FORBIDDEN');
          const apiKeyHeader = await h.request({
            method: method as 'GET',
            url,
            ...payload,
            auth: null,
            headers: { 'x-api-key': h.rootKey },
          });
          expect(apiKeyHeader.statusCode).toBe(401);
        }
      });

      it('answers a root key without the route scope with 403 naming the scope', async () => {
        const readOnly = await h.rootKeyWith(['consumers:read', 'keys:read']);
        expect((await h.request({ method: 'GET', url: '/v1/consumers', auth: readOnly })).statusCode).toBe(200);
        expect((await h.request({ method: 'GET', url: '/v1/keys', auth: readOnly })).statusCode).toBe(200);
        const needs: [string, string, string, unknown?][] = [
          ['POST', '/v1/consumers', 'consumers:write', { name: 'x' }],
          ['POST', '/v1/keys', 'keys:write', { consumerId: 'root' }],
          ['POST', '/v1/keys/verify', 'keys:verify', { key: 'x' }],
          ['GET', '/v1/audit', 'audit:read'],
          ['GET', '/v1/audit/verify', 'audit:read'],
        ];
        for (const [method, url, scope, body] of needs) {
          const res = await h.request({
            method: method as 'GET',
            url,
            ...(body === undefined ? {} : { payload: body as object }),
            auth: readOnly,
          });
          expect(res.statusCode, `${method} ${url}`).toBe(403);
          expect(res.json()).toMatchObject({ code: 'FORBIDDEN', requiredScope: scope });
          expect(res.headers['www-authenticate']).toBe(
            `Bearer realm="keyroll", error="insufficient_scope", scope="${scope}"`,
          );
        }
        const wildcard = await h.rootKeyWith(['keys:*']);
        expect((await h.request({ method: 'GET', url: '/v1/keys', auth: wildcard })).statusCode).toBe(200);
        expect((await h.request({ method: 'GET', url: '/v1/consumers', auth: wildcard })).statusCode).toBe(403);
      });

      it('lets a root key grant only scopes it holds itself, on create and on patch', async () => {
        const keysOnly = await h.rootKeyWith(['keys:*']);
        const asKeysOnly = (method: 'POST' | 'PATCH', url: string, payload: object) =>
          h.request({ method, url, payload, auth: keysOnly });
        for (const scopes of [['*'], ['consumers:write'], ['keys:read', 'audit:read'], ['keys:*', 'consumers:*']]) {
          const res = await asKeysOnly('POST', '/v1/keys', { consumerId: 'root', scopes });
          expect(res.statusCode, JSON.stringify(scopes)).toBe(403);
          expect(res.json().code).toBe('FORBIDDEN');
        }
        const granted = await asKeysOnly('POST', '/v1/keys', { consumerId: 'root', scopes: ['keys:read', 'keys:*'] });
        expect(granted.statusCode).toBe(201);
        const escalate = await asKeysOnly('PATCH', `/v1/keys/${granted.json().id}`, { scopes: ['*'] });
        expect(escalate.statusCode).toBe(403);
        expect((await h.json('GET', `/v1/keys/${granted.json().id}`, undefined, 200)).scopes).toEqual([
          'keys:read',
          'keys:*',
        ]);
        const roots = await h.json('GET', '/v1/keys?consumerId=root&limit=100', undefined, 200);
        const self = roots.data.find((k: { hint: string }) => k.hint.endsWith(keysOnly.slice(-4)));
        expect((await asKeysOnly('PATCH', `/v1/keys/${self.id}`, { scopes: ['*'] })).statusCode).toBe(403);
        // Scopes of consumer keys are the provider's own vocabulary, not admin rights: any valid scope goes.
        const { consumerId } = await h.consumerWithKey();
        expect((await asKeysOnly('POST', '/v1/keys', { consumerId, scopes: ['trade', 'admin'] })).statusCode).toBe(201);
      });
    });

    describe('malformed keys', () => {
      it('answers every one-character change of a key MALFORMED without a storage lookup', async () => {
        const { key, keyId } = await h.consumerWithKey();
        const lookup = new RecordingLookup(h.db.store);
        const verifier = new Verifier({ lookup, clock: h.clock });
        const app: FastifyInstance = await buildApp({ ...h.kr, verifier });
        try {
          const verify = async (k: string) => {
            const res = await app.inject({
              method: 'POST',
              url: '/v1/keys/verify',
              headers: { authorization: `Bearer ${h.rootKey}` },
              payload: { key: k },
            });
            expect(res.statusCode).toBe(200);
            return res.json();
          };
          // The recorder sees real lookups: the root key's (for authentication) and the presented key's.
          expect(await verify(key)).toMatchObject({ valid: true, keyId });
          expect(lookup.asked).toEqual([hashKey(h.rootKey), hashKey(key)]);
          const stranger = generateKey('kr_live').key;
          expect(await verify(stranger)).toEqual({ valid: false, code: 'NOT_FOUND' });
          expect(lookup.asked).toContain(hashKey(stranger));

          const variants = oneCharacterChanges(key);
          expect(variants).toHaveLength(key.length);
          for (const tampered of variants) {
            expect(tampered).not.toBe(key);
            expect(parseKey(tampered)).toBeNull();
            lookup.asked.length = 0;
            expect(await verify(tampered), tampered).toEqual({ valid: false, code: 'MALFORMED' });
            expect(lookup.asked).toEqual([hashKey(h.rootKey)]);
          }
          for (const junk of ['', 'kr_live_', key.slice(0, -1), `${key}0`, key.toUpperCase()]) {
            lookup.asked.length = 0;
            expect((await verify(junk)).code).toBe('MALFORMED');
            expect(lookup.asked).toEqual([hashKey(h.rootKey)]);
          }
        } finally {
          await app.close();
        }
      });
    });

    describe('the secret is shown once', () => {
      let db: TestDatabase;
      let kr: Keyroll;
      const logLines: string[] = [];
      const secrets: string[] = [];
      const seen: string[] = [];

      beforeAll(async () => {
        db = await dialect.create();
        const stream = new Writable({
          write(chunk, _enc, done) {
            logLines.push(String(chunk));
            done();
          },
        });
        const config = loadConfig({ KEYROLL_DATA_DIR: db.dataDir, KEYROLL_DATABASE_URL: db.url });
        kr = await createKeyroll(config, {
          clock: new ManualClock(Date.UTC(2026, 0, 1)),
          store: db.store,
          logger: { level: 'trace', stream },
        });
        const rootKey = kr.bootstrap?.rootKey ?? '';
        secrets.push(rootKey);
        const call = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) => {
          const res = await kr.app.inject({
            method,
            url,
            headers: { authorization: `Bearer ${rootKey}` },
            ...(payload ? { payload } : {}),
          });
          seen.push(`${method} ${url} → ${res.statusCode} ${JSON.stringify(res.headers)} ${res.body}`);
          return res;
        };
        const consumer = (await call('POST', '/v1/consumers', { name: 'Acme' })).json();
        const ids: string[] = [];
        for (const body of [
          { consumerId: consumer.id, name: 'Production', scopes: ['read'] },
          { consumerId: consumer.id, name: 'CI', allowedIps: ['10.0.0.0/8'] },
          { consumerId: 'root', scopes: ['keys:read'] },
        ]) {
          const res = await kr.app.inject({
            method: 'POST',
            url: '/v1/keys',
            headers: { authorization: `Bearer ${rootKey}` },
            payload: body,
          });
          expect(res.statusCode).toBe(201);
          expect(res.headers['cache-control']).toBe('no-store');
          secrets.push(res.json().key);
          ids.push(res.json().id);
        }
        for (const key of secrets) await call('POST', '/v1/keys/verify', { key, ip: '10.1.1.1' });
        for (const tampered of oneCharacterChanges(secrets[1] ?? '').slice(10, 14)) {
          await call('POST', '/v1/keys/verify', { key: tampered });
        }
        await kr.app.inject({ method: 'GET', url: '/v1/self', headers: { 'x-api-key': secrets[1] } });
        await kr.usage.flush();
        await call('PATCH', `/v1/keys/${ids[0]}`, { name: 'renamed' });
        await call('POST', `/v1/keys/${ids[1]}/revoke`, { reason: 'leaked' });
        await call('DELETE', `/v1/consumers/${consumer.id}`);
        await call('GET', '/v1/keys?limit=100');
        for (const id of ids) await call('GET', `/v1/keys/${id}`);
        await call('GET', `/v1/keys?consumerId=${consumer.id}&status=revoked`);
        await call('GET', '/v1/audit?limit=100');
        await call('GET', '/v1/audit/verify');
        await call('GET', '/v1/consumers');
        await call('GET', '/openapi.json');
      });
      afterAll(async () => {
        await kr?.close();
        await db?.drop();
      });

      it('issued four distinct keys and logged requests', () => {
        expect(new Set(secrets).size).toBe(4);
        for (const s of secrets) expect(parseKey(s)).not.toBeNull();
        expect(logLines.some((l) => l.includes('/v1/keys/verify'))).toBe(true);
      });

      it('returns neither the secret nor its hash in any later response', () => {
        expect(seen.length).toBeGreaterThan(15);
        for (const s of secrets) {
          const random = parseKey(s)?.random ?? s;
          for (const r of seen) {
            expect(r).not.toContain(random);
            expect(r).not.toContain(hashKey(s));
          }
        }
      });

      it('keeps only the SHA-256 of a secret in the database', async () => {
        const rows = await allRows(db.store);
        expect(rows.some((r) => r.startsWith('audit_events:'))).toBe(true);
        expect(rows.some((r) => r.startsWith('usage_minutes:'))).toBe(true);
        const keyRows = rows.filter((r) => r.startsWith('keys:')).join('\n');
        for (const s of secrets) {
          const random = parseKey(s)?.random ?? s;
          for (const r of rows) expect(r).not.toContain(random);
          expect(keyRows).toContain(hashKey(s));
        }
      });

      it('writes no secret to the log', () => {
        const log = logLines.join('');
        for (const s of secrets) {
          expect(log).not.toContain(parseKey(s)?.random ?? s);
          expect(log).not.toContain(hashKey(s));
        }
      });
    });
  });
}
