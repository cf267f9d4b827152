import { type CreateKeyrollOptions, createKeyroll, type Keyroll, loadConfig } from '@keyroll/server';
import { createStore, type Store } from '@keyroll/storage';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Harness } from '../../../../test/support/harness.js';

/** Another keyroll node on the harness's database, with a store (connection, or SQLite handle) of its own. */
export interface SecondNode {
  kr: Keyroll;
  store: Store;
  request(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** Verifies a key on this node and returns the verify code. */
  verifyCode(key: string): Promise<string>;
  close(): Promise<void>;
}

/** Starts a second node sharing the harness's database and clock. */
export async function startSecondNode(
  h: Harness,
  cluster: NonNullable<CreateKeyrollOptions['cluster']> = {},
): Promise<SecondNode> {
  const store = createStore({ databaseUrl: h.db.url, dataDir: h.db.dataDir, poolSize: 3 });
  const config = loadConfig({ KEYROLL_DATA_DIR: h.db.dataDir, KEYROLL_DATABASE_URL: h.db.url });
  const kr = await createKeyroll(config, { clock: h.clock, store, cluster, scheduler: false });
  const request = (options: InjectOptions) =>
    kr.app.inject({ ...options, headers: { authorization: `Bearer ${h.rootKey}`, ...(options.headers ?? {}) } });
  return {
    kr,
    store,
    request,
    verifyCode: async (key) => {
      const res = await request({ method: 'POST', url: '/v1/keys/verify', payload: { key } });
      if (res.statusCode !== 200) throw new Error(`verify on the second node: ${res.statusCode} ${res.body}`);
      return res.json().code;
    },
    close: async () => {
      await kr.close().catch(() => undefined);
      await store.close().catch(() => undefined);
    },
  };
}
