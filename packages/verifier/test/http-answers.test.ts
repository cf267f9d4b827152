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

  it('tells a key in its grace window when it retires (Sunset)', () => {
    const retiresAt = NOW + 3_600_000;
    expect(acceptedHeaders(accepted(retiresAt, true), NOW)).toEqual({
      deprecation: `@${retiresAt / 1000}`,
      sunset: new Date(retiresAt).toUTCString(),
    });
  });

  it('gives a key held for an unclaimed successor no Sunset: it is deprecated now, with no retirement date', () => {
    expect(acceptedHeaders(accepted(HELD_UNTIL_CLAIMED, true), NOW)).toEqual({ deprecation: `@${NOW / 1000}` });
  });
});
