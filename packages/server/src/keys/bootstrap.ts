import { chmodSync, existsSync, lstatSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '@keyroll/core';
import {
  consumerHasHadKeys,
  ensurePrivateDir,
  findConsumer,
  insertConsumer,
  insertKey,
  PRIVATE_FILE_MODE,
  type Store,
} from '@keyroll/storage';
import { newConsumer, ROOT_CONSUMER_ID } from '../consumers/consumer-service.js';
import { actorName, systemActor } from '../shared/actor.js';
import type { KeyService } from './key-service.js';

/** What the first start produced: the root key, once, and where it was written. */
export interface BootstrapResult {
  rootKey: string;
  rootKeyFile: string;
}

const BOOTSTRAP_ACTOR = actorName(systemActor('bootstrap'));

/** Thrown when the data directory already holds a root key that this (empty) store did not issue. */
export class ForeignRootKeyFileError extends Error {
  override name = 'ForeignRootKeyFileError';
}

/**
 * Makes sure the built-in root consumer exists; on an empty store (no root key ever issued) creates
 * one root key with scope `*` and writes it to `<dataDir>/root-key` with mode 0600 (directory 0700).
 * Later starts create nothing and return `null`. A `root-key` file already there on a first start
 * belongs to another store: it is never overwritten; the start fails before anything is created.
 */
export async function bootstrap(
  store: Store,
  keys: KeyService,
  clock: Clock,
  dataDir: string,
): Promise<BootstrapResult | null> {
  const now = clock.now();
  const rootKeyFile = join(dataDir, 'root-key');
  let wrote = false;
  const rootKey = await store
    .mutate(async (tx) => {
      if (!(await findConsumer(tx.db, ROOT_CONSUMER_ID))) {
        await insertConsumer(tx, newConsumer(ROOT_CONSUMER_ID, 'root', now), { at: now, actor: BOOTSTRAP_ACTOR });
      }
      if (await consumerHasHadKeys(tx.db, ROOT_CONSUMER_ID)) return null;
      if (present(rootKeyFile)) throw foreignRootKey(rootKeyFile);
      const { key, record } = keys.newKey(ROOT_CONSUMER_ID, now, { name: 'bootstrap', scopes: ['*'] });
      await insertKey(tx, record, { at: now, actor: BOOTSTRAP_ACTOR });
      // Written before the commit, exclusively ('wx'): if another process wrote the file meanwhile,
      // or the commit fails, no root key exists without its file, and no file without its key.
      ensurePrivateDir(dataDir);
      try {
        writeFileSync(rootKeyFile, `${key}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
      } catch (e) {
        if (e instanceof Error && 'code' in e && e.code === 'EEXIST') throw foreignRootKey(rootKeyFile);
        throw e;
      }
      wrote = true;
      chmodSync(rootKeyFile, PRIVATE_FILE_MODE);
      return key;
    })
    .catch((e: unknown) => {
      if (wrote) unlinkSync(rootKeyFile);
      throw e;
    });
  if (!rootKey) return null;
  return { rootKey, rootKeyFile };
}

/** True when a file (or a dangling link) is at `path`. */
function present(path: string): boolean {
  if (existsSync(path)) return true;
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function foreignRootKey(file: string): ForeignRootKeyFileError {
  return new ForeignRootKeyFileError(
    `${file} already exists, but this store has no root key: the file belongs to another store and ` +
      'is left untouched. Refusing to start. Move the file away (keep it if that store is still in ' +
      'use), or point KEYROLL_DATA_DIR at a directory of its own for this store.',
  );
}
