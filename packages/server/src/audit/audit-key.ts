import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@keyroll/core';
import { type AuditKey, ensurePrivateDir } from '@keyroll/storage';

/** Shortest `KEYROLL_AUDIT_KEY` accepted, in characters. */
export const MIN_AUDIT_KEY_LENGTH = 32;

/** The audit key and where it came from. */
export interface LoadedAuditKey {
  key: AuditKey;
  /** `env`: `KEYROLL_AUDIT_KEY`; otherwise the file it was read from (or created as). */
  source: 'env' | string;
}

/**
 * The key that seals the audit head and checkpoints: `KEYROLL_AUDIT_KEY` when set (every node of a
 * PostgreSQL cluster must share it), else `<dataDir>/audit-key`, created once with mode 0600.
 */
export function loadAuditKey(dataDir: string, fromEnv: string | undefined): LoadedAuditKey {
  if (fromEnv !== undefined) {
    if (fromEnv.trim().length < MIN_AUDIT_KEY_LENGTH) {
      throw new ConfigError(`KEYROLL_AUDIT_KEY must be at least ${MIN_AUDIT_KEY_LENGTH} characters`);
    }
    return { key: Buffer.from(fromEnv.trim(), 'utf8'), source: 'env' };
  }
  ensurePrivateDir(dataDir);
  const file = join(dataDir, 'audit-key');
  try {
    // `wx`: several processes starting on one data directory agree on the first key written.
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (e) {
    if (!(e instanceof Error && 'code' in e && e.code === 'EEXIST')) throw e;
  }
  const text = readFileSync(file, 'utf8').trim();
  if (text.length < MIN_AUDIT_KEY_LENGTH) {
    throw new ConfigError(`${file} must hold at least ${MIN_AUDIT_KEY_LENGTH} characters (the audit key)`);
  }
  return { key: Buffer.from(text, 'utf8'), source: file };
}
