import { generateKey, hashKey, type VerifyCode } from '@keyroll/core';
import { expect } from 'vitest';
import type { Harness } from './harness.js';

/** A key that yields one verify code on a request needing scope `read` from 127.0.0.1, after `prime` accepted requests. */
export interface CodeCase {
  key: string;
  /** Requests that must pass first (to use up a rate limit or quota). */
  prime: number;
}

/** Keys for every verify code, plus a deprecated key still in its grace window. */
export interface CodeKeys {
  cases: Record<VerifyCode, CodeCase>;
  deprecated: { key: string; keyId: string; consumerId: string; retiresAt: number };
  valid: { key: string; keyId: string; consumerId: string };
  /** A key allowed from loopback only: it passes only if the client's socket address reaches the verifier. */
  loopbackOnly: { key: string; keyId: string; consumerId: string };
}

/** What each refusal looks like on the wire, whoever answers (gateway or middleware). */
export const EXPECTED_ANSWER: Record<Exclude<VerifyCode, 'VALID'>, { status: number; code: string }> = {
  MALFORMED: { status: 401, code: 'UNAUTHORIZED' },
  NOT_FOUND: { status: 401, code: 'UNAUTHORIZED' },
  EXPIRED: { status: 401, code: 'UNAUTHORIZED' },
  RETIRED: { status: 401, code: 'UNAUTHORIZED' },
  REVOKED: { status: 401, code: 'UNAUTHORIZED' },
  INSUFFICIENT_SCOPE: { status: 403, code: 'FORBIDDEN' },
  IP_NOT_ALLOWED: { status: 403, code: 'FORBIDDEN' },
  RATE_LIMITED: { status: 429, code: 'RATE_LIMITED' },
  QUOTA_EXCEEDED: { status: 429, code: 'RATE_LIMITED' },
};

/** Sets a key's retirement time directly in storage, as a rotation would, announcing the change. */
export async function setRetiresAt(h: Harness, key: string, keyId: string, retiresAt: number): Promise<void> {
  await h.kr.store.mutate(async (tx) => {
    await tx.db.updateTable('keys').set({ retires_at: retiresAt }).where('id', '=', keyId).execute();
    await tx.change({ at: h.clock.now(), kind: 'key.updated', entityId: keyId, keyHash: hashKey(key) });
  });
}

/**
 * Issues keys for every verify code through the admin API (and storage, for retirement), then
 * moves the clock 2 s so that the expiring and retiring keys have passed their deadlines. No key
 * is used before it is in its final state, so no cache can hold a stale copy.
 */
export async function keysForEveryCode(h: Harness): Promise<CodeKeys> {
  const now = h.clock.now();
  const valid = await h.consumerWithKey({ scopes: ['read'] });
  const expired = await h.consumerWithKey({ scopes: ['read'], expiresAt: new Date(now + 1000).toISOString() });
  const retired = await h.consumerWithKey({ scopes: ['read'] });
  await setRetiresAt(h, retired.key, retired.keyId, now + 1000);
  const revoked = await h.consumerWithKey({ scopes: ['read'] });
  await h.json('POST', `/v1/keys/${revoked.keyId}/revoke`, { reason: 'leaked' }, 200);
  const scoped = await h.consumerWithKey({ scopes: ['write'] });
  const fenced = await h.consumerWithKey({ scopes: ['read'], allowedIps: ['10.0.0.0/8'] });
  const loopbackOnly = await h.consumerWithKey({ scopes: ['read'], allowedIps: ['127.0.0.1/32', '::1/128'] });
  const limited = await h.consumerWithKey({ scopes: ['read'], rateLimit: { limit: 1, window: '1h' } });
  const quota = await h.consumerWithKey({ scopes: ['read'], quota: { limit: 2, period: 'month' } });
  const deprecated = await h.consumerWithKey({ scopes: ['read'] });
  const retiresAt = now + 86_400_000;
  await setRetiresAt(h, deprecated.key, deprecated.keyId, retiresAt);
  h.clock.advance(2000);
  const last = valid.key.at(-1) === 'a' ? 'b' : 'a';
  return {
    cases: {
      VALID: { key: valid.key, prime: 0 },
      MALFORMED: { key: valid.key.slice(0, -1) + last, prime: 0 },
      NOT_FOUND: { key: generateKey('kr_live').key, prime: 0 },
      EXPIRED: { key: expired.key, prime: 0 },
      RETIRED: { key: retired.key, prime: 0 },
      REVOKED: { key: revoked.key, prime: 0 },
      INSUFFICIENT_SCOPE: { key: scoped.key, prime: 0 },
      IP_NOT_ALLOWED: { key: fenced.key, prime: 0 },
      RATE_LIMITED: { key: limited.key, prime: 1 },
      QUOTA_EXCEEDED: { key: quota.key, prime: 2 },
    },
    deprecated: { ...deprecated, retiresAt },
    valid,
    loopbackOnly,
  };
}

/** A response as the suites see it, whatever client sent the request. */
export interface SeenResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** Asserts that a response is keyroll's refusal for `code`: status, problem+json body and headers. */
export function expectRefusal(res: SeenResponse, code: Exclude<VerifyCode, 'VALID'>, missing = ['read']): void {
  const expected = EXPECTED_ANSWER[code];
  expect({ status: res.status, code: res.body?.code, verifyCode: res.body?.verifyCode }).toEqual({
    status: expected.status,
    code: expected.code,
    verifyCode: code,
  });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status: expected.status, type: expect.stringMatching(/^urn:keyroll:problem:/) });
  if (expected.status === 401)
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="keyroll", error="invalid_token"/);
  if (code === 'INSUFFICIENT_SCOPE') {
    expect(res.headers['www-authenticate']).toBe(
      `Bearer realm="keyroll", error="insufficient_scope", scope="${missing.join(' ')}"`,
    );
    expect(res.body.missingScopes).toEqual(missing);
  }
  if (expected.status === 429) {
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(res.headers['ratelimit-limit']).toMatch(/^\d+$/);
    expect(res.headers['ratelimit-remaining']).toMatch(/^\d+$/);
    expect(res.headers['ratelimit-reset']).toMatch(/^\d+$/);
  }
}

/** Asserts the Deprecation (RFC 9745) and Sunset (RFC 8594) headers of a deprecated key's response. */
export function expectDeprecationHeaders(res: SeenResponse, retiresAt: number): void {
  // Deprecated as of the response (never the retirement, a future date that reads as "not yet").
  const deprecatedAt = Number(/^@(\d+)$/.exec(String(res.headers.deprecation))?.[1]) * 1000;
  expect(deprecatedAt).toBeLessThanOrEqual(Date.now());
  expect(deprecatedAt).toBeLessThan(retiresAt);
  expect(res.headers.sunset).toBe(new Date(retiresAt).toUTCString());
}
