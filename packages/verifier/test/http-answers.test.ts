import { HELD_UNTIL_CLAIMED } from '@keyroll/core';
import { describe, expect, it } from 'vitest';
import { acceptedHeaders } from '../src/http-answers.js';

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);

function accepted(retiresAt: number | null, deprecated: boolean) {
  return {
    valid: true as const,
    code: 'VALID' as const,
    keyId: 'key_1',
    consumerId: 'csm_1',
    scopes: [],
    metadata: {},
    deprecated,
    retiresAt,
    expiresAt: null,
  };
}

describe('acceptedHeaders', () => {
  it('adds nothing for an active key without limits', () => {
    expect(acceptedHeaders(accepted(null, false), NOW)).toBeNull();
  });

  it('tells a key in its grace window it is deprecated now (Deprecation) and when it retires (Sunset)', () => {
    const retiresAt = NOW + 3_600_000;
    expect(acceptedHeaders(accepted(retiresAt, true), NOW)).toEqual({
      deprecation: `@${NOW / 1000}`,
      sunset: new Date(retiresAt).toUTCString(),
    });
  });

  // Security finding: Deprecation carried the retirement time, a future date, which RFC 9745 readers
  // take as "not deprecated yet" — a client checking it would keep using a key about to stop working.
  it('never sends a Deprecation date in the future', () => {
    for (const retiresAt of [NOW + 1_000, NOW + 86_400_000, NOW + 30 * 86_400_000]) {
      const deprecation = acceptedHeaders(accepted(retiresAt, true), NOW)?.deprecation ?? '';
      const seconds = Number(/^@(\d+)$/.exec(deprecation)?.[1]);
      expect(seconds * 1000).toBeLessThanOrEqual(NOW);
    }
  });

  it('gives a key held for an unclaimed successor no Sunset: it is deprecated now, with no retirement date', () => {
    expect(acceptedHeaders(accepted(HELD_UNTIL_CLAIMED, true), NOW)).toEqual({ deprecation: `@${NOW / 1000}` });
  });
});
