import { performance } from 'node:perf_hooks';
import { type Clock, decideKey, hashKey, type KeyDecision, parseKey, systemClock } from '@keyroll/core';
import { checkCost } from './cost.js';
import type { KeyLookup } from './key-lookup.js';
import type { CachedKey } from './key-record.js';
import type { LimitChecker, LimitOutcome } from './limits.js';
import type { VerificationObserver } from './observer.js';
import { ROOT_CONSUMER_ID, type RootKeyListener } from './root-key-audit.js';
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
  /** Told when a root key is presented to {@link Verifier.verify} (it is refused as `NOT_FOUND`). */
  onRootKey?: RootKeyListener;
}

/** What keyroll's admin API checks of a key: where the request comes from. */
export interface AdminVerifyOptions {
  ip?: string | undefined;
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
  /** Whether an observer reads `durationMs` (verifications are timed only then). */
  #timed: boolean;
  readonly #onRootKey: RootKeyListener | undefined;

  constructor(options: VerifierOptions) {
    this.#lookup = options.lookup;
    this.#clock = options.clock ?? systemClock;
    this.#limits = options.limits;
    this.#observers = options.observers ?? [];
    this.#timed = this.#observers.some((o) => o.readsDuration !== false);
    this.#onRootKey = options.onRootKey;
  }

  /** Adds an observer after construction (for components wired later). */
  addObserver(observer: VerificationObserver): void {
    this.#observers.push(observer);
    this.#timed ||= observer.readsDuration !== false;
  }

  /**
   * Verifies `key` for a request with the given requirements. A root key is answered `NOT_FOUND`,
   * exactly like an unknown key (and reported to `onRootKey`): root keys administer keyroll, they
   * are never API keys. A cost that is not an integer in `[0, 1,000,000]` rejects the promise with
   * a 400 `VALIDATION_FAILED` naming it, before anything is counted or observed.
   */
  verify(key: string, options: VerifyOptions = {}): Promise<VerifyResult> {
    try {
      const result = this.verifyNow(key, options);
      return result instanceof Promise ? result : Promise.resolve(result);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * {@link Verifier.verify} without a promise whenever none is needed: a cached key is decided (and
   * observed) synchronously unless its limits are counted in Redis; a promise is returned only when
   * storage or Redis must be asked. What `verify()` rejects with is thrown instead: an invalid cost,
   * or a lookup that cannot answer (an edge beyond its staleness bound: 503 `UNAVAILABLE`). For hot
   * paths that can use the answer at once (a proxy hook, a tight loop of checks).
   * @example
   * const answer = verifier.verifyNow(key, { scopes: ['read'] });
   * const result = answer instanceof Promise ? await answer : answer;
   */
  verifyNow(key: string, options: VerifyOptions = {}): VerifyResult | Promise<VerifyResult> {
    const started = this.#timed ? performance.now() : 0;
    if (options.cost !== undefined) checkCost(options.cost);
    if (typeof key !== 'string')
      return this.#observed({ valid: false, code: 'MALFORMED' }, options, started, this.#clock.now());
    const hash = hashKey(key);
    // One reading of the clock serves the lookup (an edge's staleness bound), the judgment of a
    // cached key and the date of its observation.
    const now = this.#clock.now();
    // A cached hash is that of a stored, hence well-formed, key: the checksum (which spares
    // storage a read for a mistyped key) is only checked before a read.
    const cached = this.#lookup.peek?.(hash, now);
    if (cached === undefined) {
      if (!parseKey(key)) return this.#observed({ valid: false, code: 'MALFORMED' }, options, started, now);
      return this.#lookup
        .get(hash)
        .then((found) => this.#judge(found, options, this.#clock.now()))
        .then((result) => this.#observed(result, options, started, this.#clock.now()));
    }
    const decided = this.#judge(cached, options, now);
    return decided instanceof Promise
      ? decided.then((result) => this.#observed(result, options, started, this.#clock.now()))
      : this.#observed(decided, options, started, now);
  }

  /**
   * Verifies a key presented to keyroll's own admin API: the one check a root key passes. Nothing is
   * counted — no rate limit, quota, usage, analytics or client signal — because administering
   * keyroll is not traffic on the provider's API. The caller refuses keys of other consumers.
   */
  async verifyAdmin(key: string, options: AdminVerifyOptions = {}): Promise<VerifyResult> {
    if (typeof key !== 'string') return { valid: false, code: 'MALFORMED' };
    const hash = hashKey(key);
    let found = this.#lookup.peek?.(hash);
    if (found === undefined) {
      if (!parseKey(key)) return { valid: false, code: 'MALFORMED' };
      found = await this.#lookup.get(hash);
    }
    if (!found) return { valid: false, code: 'NOT_FOUND' };
    const decision = decideKey(found, { ip: options.ip }, this.#clock.now());
    if (!decision.valid) return refusal(found, decision);
    return accepted(found, decision.status === 'deprecated', undefined);
  }

  #observed(result: VerifyResult, options: VerifyOptions, started: number, at: number): VerifyResult {
    if (this.#observers.length > 0) {
      const event = {
        at,
        code: result.code,
        keyId: result.keyId ?? null,
        consumerId: result.consumerId ?? null,
        ip: options.ip,
        userAgent: options.userAgent,
        durationMs: this.#timed ? performance.now() - started : 0,
      };
      for (const o of this.#observers) o.observe(event);
    }
    return result;
  }

  #judge(found: CachedKey | null, options: VerifyOptions, now: number): VerifyResult | Promise<VerifyResult> {
    if (!found) return { valid: false, code: 'NOT_FOUND' };
    if (found.consumerId === ROOT_CONSUMER_ID) {
      // Indistinguishable from an unknown key: no key id, no consumer, nothing counted against it.
      this.#onRootKey?.({ at: now, keyId: found.id, ip: options.ip, userAgent: options.userAgent });
      return { valid: false, code: 'NOT_FOUND' };
    }
    const decision = decideKey(found, options, now);
    if (!decision.valid) return refusal(found, decision);
    const deprecated = decision.status === 'deprecated';
    if (!this.#limits || options.skipLimits) return accepted(found, deprecated, undefined);
    const limited = this.#limits.check(found, options.cost ?? 1, now);
    return limited instanceof Promise
      ? limited.then((outcome) => limitedResult(found, deprecated, outcome))
      : limitedResult(found, deprecated, limited);
  }
}

function refusal(found: CachedKey, decision: Extract<KeyDecision, { valid: false }>): VerifyResult {
  return {
    valid: false,
    code: decision.code,
    keyId: found.id,
    consumerId: found.consumerId,
    ...(decision.missingScopes ? { missingScopes: decision.missingScopes } : {}),
  };
}

function limitedResult(found: CachedKey, deprecated: boolean, limited: LimitOutcome): VerifyResult {
  if (limited.allowed) return accepted(found, deprecated, limited);
  const { allowed: _, ...rest } = limited;
  return { valid: false, keyId: found.id, consumerId: found.consumerId, ...rest };
}

function accepted(found: CachedKey, deprecated: boolean, limited: LimitOutcome | undefined): VerifyResult {
  const result: VerifyResult = {
    valid: true,
    code: 'VALID',
    keyId: found.id,
    consumerId: found.consumerId,
    scopes: found.scopes,
    metadata: found.metadata,
    deprecated,
    retiresAt: found.retiresAt,
    expiresAt: found.expiresAt,
  };
  // Assigned rather than spread: a plain literal is much cheaper to build on the hot path.
  if (limited?.ratelimit) result.ratelimit = limited.ratelimit;
  if (limited?.quota) result.quota = limited.quota;
  return result;
}
