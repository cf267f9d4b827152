import { open, stat, unlink } from 'node:fs/promises';
import { KeyrollClientError } from './keyroll-client-error.js';

/** Options of {@link withFileLock}. */
export interface FileLockOptions {
  /** A lock older than this is taken to belong to a crashed process and is broken. */
  staleMs: number;
  /** Give up (`LOCK_TIMEOUT`) after waiting this long. */
  waitMs: number;
  /** How often a waiter looks again. */
  retryMs?: number;
}

/**
 * Runs `fn` holding the lock file `lockPath`, created with O_EXCL so only one process on the
 * machine (or on a shared volume) holds it; others wait. A lock left by a crash is broken after `staleMs`.
 */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, options: FileLockOptions): Promise<T> {
  await acquire(lockPath, options);
  try {
    return await fn();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}

async function acquire(lockPath: string, { staleMs, waitMs, retryMs = 25 }: FileLockOptions): Promise<void> {
  const start = Date.now();
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      await handle.writeFile(`${globalThis.process?.pid ?? 0} ${new Date().toISOString()}\n`);
      await handle.close();
      return;
    } catch (e) {
      if (!isCode(e, 'EEXIST')) throw e;
    }
    const age = await lockAge(lockPath);
    if (age !== undefined && age > staleMs) {
      await unlink(lockPath).catch(() => undefined);
      continue;
    }
    if (Date.now() - start > waitMs) {
      throw new KeyrollClientError('LOCK_TIMEOUT', `the lock ${lockPath} was held for longer than ${waitMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}

/** Age of the lock in ms; `undefined` when it vanished in between. */
async function lockAge(lockPath: string): Promise<number | undefined> {
  try {
    return Date.now() - (await stat(lockPath)).mtimeMs;
  } catch (e) {
    if (isCode(e, 'ENOENT')) return undefined;
    throw e;
  }
}

function isCode(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && Reflect.get(e, 'code') === code;
}
