import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '@keyroll/core';
import type { Store } from '@keyroll/storage';
import { systemActor } from './actor.js';
import { newConsumerRow, ROOT_CONSUMER_ID } from './consumer-service.js';
import type { KeyService } from './key-service.js';

/** What the first start produced: the root key, once, and where it was written. */
export interface BootstrapResult {
  rootKey: string;
  rootKeyFile: string;
}

/**
 * Makes sure the built-in root consumer exists; on an empty store (no root key ever issued) creates
 * one root key with scope `*` and writes it to `<dataDir>/root-key` with mode 0600. Later starts
 * create nothing and return `null`.
 */
export async function bootstrap(
  store: Store,
  keys: KeyService,
  clock: Clock,
  dataDir: string,
): Promise<BootstrapResult | null> {
  const now = clock.now();
  const rootKey = await store.mutate(async (tx) => {
    const root = await tx.db.selectFrom('consumers').select('id').where('id', '=', ROOT_CONSUMER_ID).executeTakeFirst();
    if (!root) {
      await tx.db
        .insertInto('consumers')
        .values(newConsumerRow(ROOT_CONSUMER_ID, 'root', now))
        .execute();
      await tx.audit({
        at: now,
        actor: 'system:bootstrap',
        action: 'consumer.created',
        targetType: 'consumer',
        targetId: ROOT_CONSUMER_ID,
        data: { consumerId: ROOT_CONSUMER_ID, name: 'root' },
      });
    }
    const anyRootKey = await tx.db
      .selectFrom('keys')
      .select('id')
      .where('consumer_id', '=', ROOT_CONSUMER_ID)
      .limit(1)
      .executeTakeFirst();
    if (anyRootKey) return null;
    const { key, row } = keys.newKeyRow(ROOT_CONSUMER_ID, now, {
      name: 'bootstrap',
      scopes: '["*"]',
      metadata: '{}',
      allowed_ips: null,
      rate_limit: null,
      quota: null,
      expires_at: null,
    });
    await keys.insertKey(tx, row, systemActor('bootstrap'), 'key.created');
    return key;
  });
  if (!rootKey) return null;
  mkdirSync(dataDir, { recursive: true });
  const rootKeyFile = join(dataDir, 'root-key');
  writeFileSync(rootKeyFile, `${rootKey}\n`, { mode: 0o600 });
  chmodSync(rootKeyFile, 0o600);
  return { rootKey, rootKeyFile };
}
