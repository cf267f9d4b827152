import { ApiError } from '@keyroll/core';
import { describe, expect, it } from 'vitest';
import { KeyTable } from '../../src/remote/key-table.js';
import { edgeKey, hashOf } from './edge-keys.js';

describe('KeyTable', () => {
  it('answers a key read before (hot) with every change made to it since', () => {
    const table = new KeyTable(() => false);
    table.replaceAll([edgeKey(1), edgeKey(2)]);
    expect(table.peek(hashOf(1))).toMatchObject({ id: 'key_1', revokedAt: null });
    expect(table.peek(hashOf(1))).toMatchObject({ id: 'key_1', revokedAt: null });
    table.set(edgeKey(1, { revokedAt: 1_700_000_000_000 }));
    expect(table.peek(hashOf(1))).toMatchObject({ id: 'key_1', revokedAt: 1_700_000_000_000 });
    table.set(edgeKey(1, { retiresAt: 1_800_000_000_000, scopes: ['read', 'write'] }));
    expect(table.peek(hashOf(1))).toMatchObject({
      revokedAt: null,
      retiresAt: 1_800_000_000_000,
      scopes: ['read', 'write'],
    });
    table.delete(hashOf(1));
    expect(table.peek(hashOf(1))).toBeNull();
  });

  it('answers from the new table alone after a snapshot reload', async () => {
    const table = new KeyTable(() => false);
    table.replaceAll([edgeKey(1), edgeKey(2)]);
    expect(table.peek(hashOf(1))).toMatchObject({ id: 'key_1' });
    expect(await table.get(hashOf(2))).toMatchObject({ id: 'key_2' });
    table.replaceAll([edgeKey(2, { revokedAt: 1_700_000_000_000 })]);
    expect(table.peek(hashOf(1))).toBeNull();
    expect(await table.get(hashOf(2))).toMatchObject({ id: 'key_2', revokedAt: 1_700_000_000_000 });
  });

  it('refuses a hot key as any other while stale', async () => {
    let stale = false;
    const table = new KeyTable(() => stale);
    table.replaceAll([edgeKey(1)]);
    expect(table.peek(hashOf(1))).toMatchObject({ id: 'key_1' });
    stale = true;
    expect(() => table.peek(hashOf(1))).toThrow(ApiError);
    await expect(table.get(hashOf(1))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    stale = false;
    expect(table.peek(hashOf(1))).toMatchObject({ id: 'key_1' });
  });
});
