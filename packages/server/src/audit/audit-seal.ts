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

/**
 * Thrown at start-up when the audit chain holds events but has no sealed head (the head row was
 * deleted, perhaps to hide a cut tail): the node refuses to start unless KEYROLL_AUDIT_ACCEPT_BROKEN_CHAIN=1.
 */
export class AuditHeadMissingError extends Error {
  override name = 'AuditHeadMissingError';
}

/** Thrown at start-up when the audit head was sealed with another key: the node refuses to start. */
export class AuditKeyMismatchError extends Error {
  override name = 'AuditKeyMismatchError';
}

/**
 * Loads the audit key, refuses a chain whose head is missing unless the operator accepts it (then
 * seals its end), and wraps the store so that every append re-seals the head. Refuses to start when the
 * head in the database was sealed with a different key: this node would otherwise raise an alarm on
 * its first append, and every check would fail.
 */
export async function sealAudit(store: Store, config: Readonly<Config>, clock: Clock): Promise<SealedAudit> {
  const { key, source } = loadAuditKey(config.dataDir, config.auditKey);
  // Sealing a headless chain would erase the evidence of a deleted head (and of a tail cut with it).
  const head = await openAuditHead(store, key, clock.now(), { sealMissing: config.auditAcceptBrokenChain });
  if (head.state === 'missing') {
    throw new AuditHeadMissingError(
      `the audit chain holds events up to #${head.seq} but its sealed head is missing: the audit_head row was ` +
        'deleted, possibly to hide removed events. Investigate (GET /v1/audit/verify?full=true on a running node, ' +
        'backups); to accept the chain as it is and seal its current end, start one node once with ' +
        'KEYROLL_AUDIT_ACCEPT_BROKEN_CHAIN=1 (see docs/audit.md)',
    );
  }
  if (head.state === 'foreign') {
    const from = source === 'env' ? 'KEYROLL_AUDIT_KEY' : source;
    throw new AuditKeyMismatchError(
      `the audit chain's head (#${head.seq}) was not sealed with this node's audit key (from ${from}): every node ` +
        'sharing a database must use the same KEYROLL_AUDIT_KEY; if the head was forged, see docs/audit.md',
    );
  }
  return { store: sealAuditAppends(store, key), key, headSeq: head.seq, sealedNow: head.state === 'sealed' };
}
