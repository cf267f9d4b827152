import { ApiError, generateKey, hashKey } from '@keyroll/core';
import { ManualClock } from '@keyroll/core/testing';
import {
  type CachedKey,
  type KeyLookup,
  type LimitChecker,
  type VerificationEvent,
  Verifier,
  type VerifyResult,
} from '@keyroll/verifier/internal';
import { describe, expect, it } from 'vitest';
import { keyOf } from './limiter/limit-fixtures.js';

const START = Date.UTC(2026, 0, 1, 12, 0, 0);

/** One stored key behind a lookup that holds it in memory (`peek`) or only in "storage" (`get`). */
function setup(options: { cached?: boolean; limits?: LimitChecker } = {}) {
  const clock = new ManualClock(START);
  const { key } = generateKey('kr_live');
  const stored: CachedKey = {
    ...keyOf('key_1', 'csm_1', { scopes: ['read'], retiresAt: START + 60_000 }),
    hash: hashKey(key),
  };
  const reads: string[] = [];
  const lookup: KeyLookup = {
    get: async (hash) => {
      reads.push(hash);
      return hash === stored.hash ? stored : null;
    },
    ...(options.cached !== false && { peek: (hash) => (hash === stored.hash ? stored : undefined) }),
  };
  const events: VerificationEvent[] = [];
  const verifier = new Verifier({
    lookup,
    clock,
    ...(options.limits && { limits: options.limits }),
    observers: [{ observe: (e) => events.push(e) }],
  });
  return { clock, key, verifier, events, reads };
}

describe('Verifier.verifyNow', () => {
  it('answers a cached key synchronously, as verify() does, observed once', async () => {
    const { key, verifier, events } = setup();
    const now = verifier.verifyNow(key, { scopes: ['read'] });
    expect(now).not.toBeInstanceOf(Promise);
    expect(now).toEqual(await verifier.verify(key, { scopes: ['read'] }));
    expect(now).toMatchObject({ valid: true, code: 'VALID', keyId: 'key_1', deprecated: true });
    expect(events.map((e) => e.code)).toEqual(['VALID', 'VALID']);
  });

  it('judges deadlines and scopes at the clock, synchronously', () => {
    const { clock, key, verifier } = setup();
    expect(verifier.verifyNow(key, { scopes: ['write'] })).toMatchObject({
      valid: false,
      code: 'INSUFFICIENT_SCOPE',
      missingScopes: ['write'],
    });
    clock.advance(60_000);
    expect(verifier.verifyNow(key, { scopes: ['read'] })).toMatchObject({ valid: false, code: 'RETIRED' });
  });

  it('refuses a malformed key synchronously, without a read', () => {
    const { verifier, reads, events } = setup();
    expect(verifier.verifyNow('kr_live_not-a-key')).toEqual({ valid: false, code: 'MALFORMED' });
    expect(verifier.verifyNow(42 as unknown as string)).toEqual({ valid: false, code: 'MALFORMED' });
    expect(reads).toEqual([]);
    expect(events.map((e) => e.code)).toEqual(['MALFORMED', 'MALFORMED']);
  });

  it('returns a promise when the key must be read', async () => {
    const { key, verifier, reads } = setup({ cached: false });
    const answer = verifier.verifyNow(key, { scopes: ['read'] });
    expect(answer).toBeInstanceOf(Promise);
    expect(await answer).toMatchObject({ valid: true, keyId: 'key_1' });
    expect(reads).toEqual([hashKey(key)]);
    const unknown = verifier.verifyNow(generateKey('kr_live').key);
    expect(unknown).toBeInstanceOf(Promise);
    expect(await unknown).toEqual({ valid: false, code: 'NOT_FOUND' });
  });

  it('returns a promise when limits must be asked, and observes once it is settled', async () => {
    let release: (v: { allowed: true }) => void = () => undefined;
    const limits: LimitChecker = { check: () => new Promise((resolve) => (release = resolve)) };
    const { key, verifier, events } = setup({ limits });
    const answer = verifier.verifyNow(key) as Promise<VerifyResult>;
    expect(answer).toBeInstanceOf(Promise);
    expect(events).toEqual([]);
    release({ allowed: true });
    expect(await answer).toMatchObject({ valid: true, keyId: 'key_1' });
    expect(events.map((e) => e.code)).toEqual(['VALID']);
  });

  it('throws for an invalid cost (verify() rejects), before anything is observed', async () => {
    const { key, verifier, events } = setup();
    expect(() => verifier.verifyNow(key, { cost: -1 })).toThrow(ApiError);
    await expect(verifier.verify(key, { cost: 1.5 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(events).toEqual([]);
  });
});
