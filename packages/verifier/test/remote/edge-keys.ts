import { createHash } from 'node:crypto';
import type { EdgeKey } from '../../src/remote/data-plane-wire.js';

/** The SHA-256 (hex) of the `i`-th test key. */
export const hashOf = (i: number): string => createHash('sha256').update(`key ${i}`).digest('hex');

/** The `i`-th key as the data plane sends it (consumer `csm_1`, scope `read`, no limits), with `overrides`. */
export function edgeKey(i: number, overrides: Partial<EdgeKey> = {}): EdgeKey {
  return {
    hash: hashOf(i),
    id: `key_${i}`,
    consumerId: 'csm_1',
    name: 'default',
    version: 1,
    lineageId: `key_${i}`,
    predecessorId: null,
    scopes: ['read'],
    metadata: {},
    allowedIps: null,
    rateLimit: null,
    quota: null,
    planId: null,
    expiresAt: null,
    retiresAt: null,
    revokedAt: null,
    ...overrides,
  };
}
