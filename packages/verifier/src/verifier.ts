import { performance } from 'node:perf_hooks';
import { type Clock, decideKey, hashKey, parseKey, systemClock } from '@keyroll/core';
import type { KeyLookup } from './key-lookup.js';
import type { LimitChecker } from './limits.js';
import type { VerificationObserver } from './observer.js';
import type { VerifyOptions, VerifyResult } from './verify-result.js';

/** What a {@link Verifier} is built from. */
export interface VerifierOptions {
  /** Where keys are found (a cache in front of storage, usually). */
  lookup: KeyLookup;
  clock?: Clock;
  /** Rate limits and quotas; none when absent. */
  limits?: LimitChecker;
  /** Told of every verification (usage metering, metrics, alerts). */
  observers?: VerificationObserver[];
}

/**
 * Decides whether a presented key may make a request. Malformed keys are rejected by their
 * checksum before any lookup; deadlines are judged from timestamps at the moment of the request,
 * so a retirement needs no message to take effect.
 * @example
 * const result = await verifier.verify(req.headers['x-api-key'], { scopes: ['read'] });
 * if (!result.valid) reply.code(401).send({ code: result.code });
 */
export class Verifier {
  readonly #lookup: KeyLookup;
  readonly #clock: Clock;
  readonly #limits: LimitChecker | undefined;
  readonly #observers: VerificationObserver[];

  constructor(options: VerifierOptions) {
    this.#lookup = options.lookup;
    this.#clock = options.clock ?? systemClock;
    this.#limits = options.limits;
    this.#observers = options.observers ?? [];
  }

  /** Adds an observer after construction (for components wired later). */
  addObserver(observer: VerificationObserver): void {
    this.#observers.push(observer);
  }

  /** Verifies `key` for a request with the given requirements. */
  async verify(key: string, options: VerifyOptions = {}): Promise<VerifyResult> {
    const started = performance.now();
    const result = await this.#decide(key, options);
    if (this.#observers.length > 0) {
      const event = {
        at: this.#clock.now(),
        code: result.code,
        keyId: result.keyId ?? null,
        consumerId: result.consumerId ?? null,
        ip: options.ip,
        userAgent: options.userAgent,
        durationMs: performance.now() - started,
      };
      for (const o of this.#observers) o.observe(event);
    }
    return result;
  }

  async #decide(key: string, options: VerifyOptions): Promise<VerifyResult> {
    if (!parseKey(key)) return { valid: false, code: 'MALFORMED' };
    const found = await this.#lookup.get(hashKey(key));
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
    const limited = this.#limits ? await this.#limits.check(found, options.cost ?? 1, now) : undefined;
    if (limited && !limited.allowed) {
      const { allowed: _, ...rest } = limited;
      return { valid: false, keyId: found.id, consumerId: found.consumerId, ...rest };
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
      ...(limited?.ratelimit && { ratelimit: limited.ratelimit }),
      ...(limited?.quota && { quota: limited.quota }),
    };
  }
}
