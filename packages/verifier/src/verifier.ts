import { type Clock, decideKey, hashKey, parseKey, systemClock } from '@keyroll/core';
import type { Store } from '@keyroll/storage';
import { type CachedKey, cachedKeyFromRow } from './key-record.js';
import type { VerifyOptions, VerifyResult } from './verify-result.js';

/** What a {@link Verifier} needs. */
export interface VerifierOptions {
  store: Store;
  clock?: Clock;
}

/**
 * Decides whether a presented key may make a request. Malformed keys are rejected by their
 * checksum before any lookup; deadlines are judged from timestamps at the moment of the request.
 * @example
 * const result = await verifier.verify(req.headers['x-api-key'], { scopes: ['read'] });
 * if (!result.valid) reply.code(401).send({ code: result.code });
 */
export class Verifier {
  readonly #store: Store;
  readonly #clock: Clock;

  constructor(options: VerifierOptions) {
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
  }

  /** Verifies `key` for a request with the given requirements. */
  async verify(key: string, options: VerifyOptions = {}): Promise<VerifyResult> {
    if (!parseKey(key)) return { valid: false, code: 'MALFORMED' };
    const found = await this.lookup(hashKey(key));
    if (!found) return { valid: false, code: 'NOT_FOUND' };
    const now = this.#clock.now();
    const decision = decideKey(found, { scopes: options.scopes, ip: options.ip }, now);
    if (!decision.valid) {
      return {
        valid: false,
        code: decision.code,
        keyId: found.id,
        consumerId: found.consumerId,
        ...(decision.missingScopes ? { missingScopes: decision.missingScopes } : {}),
      };
    }
    return {
      valid: true,
      code: 'VALID',
      keyId: found.id,
      consumerId: found.consumerId,
      scopes: found.scopes,
      metadata: found.metadata,
      deprecated: decision.status === 'deprecated',
      retiresAt: found.retiresAt,
      expiresAt: found.expiresAt,
    };
  }

  /** Finds a key by the SHA-256 of its secret. */
  async lookup(hash: string): Promise<CachedKey | null> {
    const row = await this.#store.db.selectFrom('keys').selectAll().where('hash', '=', hash).executeTakeFirst();
    return row ? cachedKeyFromRow(row) : null;
  }
}
