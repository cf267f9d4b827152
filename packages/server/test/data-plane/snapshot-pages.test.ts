import type { AddressInfo } from 'node:net';
import { insertKeysUnlogged, type KeyRecord, SNAPSHOT_PAGE_SIZE } from '@keyroll/storage';
import { createRemoteVerifier } from '@keyroll/verifier';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { eventually } from '../../../../test/support/eventually.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

/** More keys than one page of the snapshot's reads. */
const BULK = SNAPSHOT_PAGE_SIZE * 2 + 17;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`a snapshot of several pages on ${dialect.name}`, () => {
    let h: Harness;
    let url: string;
    let token: string;
    let real: { key: string; keyId: string; consumerId: string };

    beforeAll(async () => {
      h = await createHarness(dialect);
      await h.kr.app.listen({ port: 0, host: '127.0.0.1' });
      url = `http://127.0.0.1:${(h.kr.app.server.address() as AddressInfo).port}`;
      token = await h.rootKeyWith(['dataplane:read']);
      real = await h.consumerWithKey({ scopes: ['read'] });
      const now = h.clock.now();
      // Records as the node builds them for a new key (each its own lineage), stored straight, unlogged.
      const bulk: KeyRecord[] = Array.from({ length: BULK }, (_, i) => {
        const { record } = h.kr.keys.newKey(real.consumerId, now, { name: `bulk ${i}`, scopes: ['read'] });
        return { ...record, lineageId: record.id };
      });
      await insertKeysUnlogged(h.db.store.db, bulk);
    });
    afterAll(async () => {
      await h?.close();
    });

    it('streams every key once, in id order, and an edge boots from it', async () => {
      const res = await fetch(`${url}/v1/data-plane/snapshot`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      const lines = (await res.text())
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l));
      expect(lines[0]).toHaveProperty('seq');
      const ids = lines.filter((l) => 'key' in l).map((l) => l.key.id as string);
      // the bulk keys, the consumer's real key and the two root keys
      expect(ids).toHaveLength(BULK + 3);
      expect(new Set(ids).size).toBe(ids.length);
      expect([...ids].sort()).toEqual(ids);
      // Asked for rows (what edges ask for), the same keys come as arrays in the head's keyFields order.
      const asRows = await fetch(`${url}/v1/data-plane/snapshot?keys=arrays`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const rowLines = (await asRows.text())
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l));
      const fields = rowLines[0].keyFields as string[];
      expect(rowLines[0]).toMatchObject({ seq: lines[0].seq, keys: ids.length });
      const fromRows = rowLines
        .filter((l) => 'keyRow' in l)
        .map((l) => Object.fromEntries(fields.map((f, i) => [f, l.keyRow[i]])));
      expect(fromRows).toEqual(lines.filter((l) => 'key' in l).map((l) => l.key));
      expect(rowLines.filter((l) => 'consumer' in l || 'plan' in l)).toEqual(
        lines.filter((l) => 'consumer' in l || 'plan' in l),
      );
      const edge = await createRemoteVerifier({ url, token });
      try {
        expect(edge.status().keys).toBeGreaterThanOrEqual(BULK + 1);
        expect(await edge.verifier.verify(real.key, { scopes: ['read'] })).toMatchObject({ valid: true });
      } finally {
        await edge.close();
      }
    });

    it('lets go of its read when the client goes away mid-stream: the node keeps writing', async () => {
      const abort = new AbortController();
      const res = await fetch(`${url}/v1/data-plane/snapshot`, {
        headers: { authorization: `Bearer ${token}` },
        signal: abort.signal,
      });
      const reader = res.body?.getReader();
      await reader?.read();
      abort.abort();
      await reader?.cancel().catch(() => undefined);
      const before = await h.json('POST', '/v1/consumers', { name: 'after an aborted snapshot' }, 201);
      expect(before.id).toBeTruthy();
      await eventually(async () => {
        const r = await fetch(`${url}/v1/data-plane/snapshot`, { headers: { authorization: `Bearer ${token}` } });
        return (await r.text()).includes(before.id);
      }, 'a later snapshot to show the new consumer');
    });
  });
}
