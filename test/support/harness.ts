import { ManualClock } from '@keyroll/core/testing';
import { type CreateKeyrollOptions, createKeyroll, type Keyroll, loadConfig } from '@keyroll/server';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { TestDatabase, TestDialect } from './databases.js';

/** An in-process keyroll on a fresh database, with a hand-driven clock and a `*` root key. */
export interface Harness {
  kr: Keyroll;
  db: TestDatabase;
  clock: ManualClock;
  rootKey: string;
  /** Sends a request; `auth` defaults to the `*` root key (pass `null` for none). */
  request(options: InjectOptions & { auth?: string | null }): Promise<LightMyRequestResponse>;
  /** Sends a request and returns its parsed JSON, failing on an unexpected status. */
  json<T = any>(
    method: InjectOptions['method'],
    url: string,
    body?: unknown,
    expectStatus?: number,
    auth?: string | null,
  ): Promise<T>;
  /** A root key with exactly these scopes. */
  rootKeyWith(scopes: string[]): Promise<string>;
  /** A new consumer and one key for it. */
  consumerWithKey(keyBody?: Record<string, unknown>): Promise<{ consumerId: string; key: string; keyId: string }>;
  close(): Promise<void>;
}

/** Builds a harness on a fresh database of the given dialect (`options` may add e.g. a cluster clock). */
export async function createHarness(
  dialect: TestDialect,
  env: Record<string, string> = {},
  options: Omit<CreateKeyrollOptions, 'clock' | 'store'> = {},
): Promise<Harness> {
  const db = await dialect.create();
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const config = loadConfig({ KEYROLL_DATA_DIR: db.dataDir, KEYROLL_DATABASE_URL: db.url, ...env });
  const kr = await createKeyroll(config, { ...options, clock, store: db.store });
  if (!kr.bootstrap) throw new Error('expected a first start');
  const rootKey = kr.bootstrap.rootKey;

  const request: Harness['request'] = ({ auth, ...options }) => {
    const token = auth === undefined ? rootKey : auth;
    const headers = { ...(options.headers ?? {}), ...(token ? { authorization: `Bearer ${token}` } : {}) };
    return kr.app.inject({ ...options, headers });
  };
  const json = async <T = any>(
    method: InjectOptions['method'],
    url: string,
    body?: unknown,
    expectStatus?: number,
    auth?: string | null,
  ): Promise<T> => {
    const res = await request({ method, url, ...(body === undefined ? {} : { payload: body as object }), auth });
    if (expectStatus !== undefined && res.statusCode !== expectStatus) {
      throw new Error(`${method} ${url}: expected ${expectStatus}, got ${res.statusCode}: ${res.body}`);
    }
    // An empty answer (e.g. a 204) comes back as `undefined`; callers expecting one ignore the result.
    return (res.body ? res.json<T>() : undefined) as T;
  };
  return {
    kr,
    db,
    clock,
    rootKey,
    request,
    json,
    rootKeyWith: async (scopes) => (await json('POST', '/v1/keys', { consumerId: 'root', scopes }, 201)).key,
    consumerWithKey: async (keyBody = {}) => {
      const consumer = await json('POST', '/v1/consumers', { name: `c-${Math.random().toString(36).slice(2)}` }, 201);
      const created = await json('POST', '/v1/keys', { consumerId: consumer.id, ...keyBody }, 201);
      return { consumerId: consumer.id, key: created.key, keyId: created.id };
    },
    close: async () => {
      await kr.close();
      await db.drop();
    },
  };
}
