import { describe, expect, it } from 'vitest';
import {
  decideKey,
  grantCovers,
  isId,
  isValidScope,
  keyStatusAt,
  missingScopes,
  newId,
  parseCidr,
  type VerifiableKey,
} from '../src/index.js';

import { ManualClock } from '../src/testing.js';

const base = { expiresAt: null, retiresAt: null, revokedAt: null };

describe('key status from timestamps', () => {
  const t = 1_000_000;
  it('is active with no deadlines', () => expect(keyStatusAt(base, t)).toBe('active'));
  it('is deprecated before retiresAt and retired at it', () => {
    expect(keyStatusAt({ ...base, retiresAt: t + 1 }, t)).toBe('deprecated');
    expect(keyStatusAt({ ...base, retiresAt: t }, t)).toBe('retired');
  });
  it('expires at expiresAt', () => {
    expect(keyStatusAt({ ...base, expiresAt: t + 1 }, t)).toBe('active');
    expect(keyStatusAt({ ...base, expiresAt: t }, t)).toBe('expired');
  });
  it('revoked beats retired beats expired', () => {
    expect(keyStatusAt({ expiresAt: t - 2, retiresAt: t - 1, revokedAt: t - 3 }, t)).toBe('revoked');
    expect(keyStatusAt({ expiresAt: t - 2, retiresAt: t - 1, revokedAt: null }, t)).toBe('retired');
  });
  it('a future revocation is not yet in force', () => {
    expect(keyStatusAt({ ...base, revokedAt: t + 5 }, t)).toBe('active');
  });
});

describe('scopes', () => {
  it('matches exact, prefix wildcard and star', () => {
    expect(grantCovers('read', 'read')).toBe(true);
    expect(grantCovers('keys:*', 'keys:write')).toBe(true);
    expect(grantCovers('keys:*', 'keysx:write')).toBe(false);
    expect(grantCovers('*', 'anything')).toBe(true);
    expect(grantCovers('read', 'trade')).toBe(false);
    expect(missingScopes(['read'], ['read', 'trade'])).toEqual(['trade']);
  });
  it('validates scope syntax', () => {
    for (const s of ['read', 'keys:write', 'keys:*', '*', 'a.b-c:d_e']) expect(isValidScope(s)).toBe(true);
    for (const s of ['', 'Read', 'a b', 'keys:', ':x', '**', 'a:*:b']) expect(isValidScope(s)).toBe(false);
  });
});

describe('decideKey', () => {
  const key: VerifiableKey = { id: 'k', consumerId: 'c', scopes: ['read'], allowedRanges: null, ...base };
  it('answers by status, scope and IP', () => {
    expect(decideKey(key, {}, 0).code).toBe('VALID');
    expect(decideKey({ ...key, revokedAt: 0 }, {}, 0).code).toBe('REVOKED');
    expect(decideKey({ ...key, retiresAt: 0 }, {}, 0).code).toBe('RETIRED');
    expect(decideKey({ ...key, expiresAt: 0 }, {}, 0).code).toBe('EXPIRED');
    expect(decideKey(key, { scopes: ['trade'] }, 0)).toMatchObject({
      code: 'INSUFFICIENT_SCOPE',
      missingScopes: ['trade'],
    });
    const ranged = {
      ...key,
      allowedRanges: [parseCidr('10.0.0.0/8'), parseCidr('::1')].flatMap((c) => (c ? [c] : [])),
    };
    expect(decideKey(ranged, { ip: '10.1.2.3' }, 0).code).toBe('VALID');
    expect(decideKey(ranged, { ip: '::ffff:10.1.2.3' }, 0).code).toBe('VALID');
    expect(decideKey(ranged, { ip: '::1' }, 0).code).toBe('VALID');
    expect(decideKey(ranged, { ip: '11.0.0.1' }, 0).code).toBe('IP_NOT_ALLOWED');
    expect(decideKey(ranged, {}, 0).code).toBe('IP_NOT_ALLOWED');
  });
  it('rejects invalid CIDRs', () => {
    expect(parseCidr('10.0.0.0/33')).toBeNull();
    expect(parseCidr('nope')).toBeNull();
  });
});

describe('ids and clock', () => {
  it('makes prefixed ids that sort by time', () => {
    const a = newId('key', 1000);
    const b = newId('key', 2000);
    expect(isId('key', a)).toBe(true);
    expect(isId('consumer', a)).toBe(false);
    expect(a < b).toBe(true);
    const sameMs = Array.from({ length: 200 }, () => newId('consumer', 5000));
    expect([...sameMs].sort()).toEqual(sameMs);
    expect(new Set(sameMs).size).toBe(200);
  });
  it('moves only when told', () => {
    const c = new ManualClock(0);
    c.advance(5);
    expect(c.now()).toBe(5);
    c.set(new Date(10));
    expect(c.now()).toBe(10);
  });
});
