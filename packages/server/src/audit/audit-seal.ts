import type { Clock } from '@keyroll/core';
import { type AuditKey, openAuditHead, type Store, sealAuditAppends } from '@keyroll/storage';
import type { Config } from '../config.js';
import { loadAuditKey } from './audit-key.js';

/** The store with sealed audit appends, the key, and the sealed head at start-up. */
export interface SealedAudit {
  store: Store;
  key: AuditKey;
  headSeq: number;
  /** Set when this start sealed a chain that had no head (an upgraded database, or a deleted head row). */
  sealedNow: boolean;
}

/** Thrown at start-up when the audit head was sealed with another key: the node refuses to start. */
export class AuditKeyMismatchError extends Error {
  override name = 'AuditKeyMismatchError';
}

/**
 * Loads the audit key, seals the end of a chain that has no head yet (first start after the
 * upgrade), and wraps the store so that every append re-seals the head. Refuses to start when the
 * head in the database was sealed with a different key: this node would otherwise raise an alarm on
 * its first append, and every check would fail.
 */
export async function sealAudit(store: Store, config: Readonly<Config>, clock: Clock): Promise<SealedAudit> {
  const { key, source } = loadAuditKey(config.dataDir, config.auditKey);
  const head = await openAuditHead(store, key, clock.now());
  if (head.state === 'foreign') {
    const from = source === 'env' ? 'KEYROLL_AUDIT_KEY' : source;
    throw new AuditKeyMismatchError(
      `the audit chain's head (#${head.seq}) was not sealed with this node's audit key (from ${from}): every node ` +
        'sharing a database must use the same KEYROLL_AUDIT_KEY; if the head was forged, see docs/audit.md',
    );
  }
  return { store: sealAuditAppends(store, key), key, headSeq: head.seq, sealedNow: head.state === 'sealed' };
}
