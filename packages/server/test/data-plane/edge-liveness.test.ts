import type { AddressInfo } from 'node:net';
import { ManualClock } from '@keyroll/core/testing';
import { createRemoteVerifier, type RemoteVerifier } from '@keyroll/verifier';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { eventually } from '../../../../test/support/eventually.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { RetentionJob } from '../../src/cluster/retention.js';
import { type CuttableFetch, cuttableFetch } from './cuttable-fetch.js';

const DAY = 86_400_000;
const BOUND_MS = 5000;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`a connected edge as a live member on ${dialect.name}`, () => {
    let h: Harness;
    let edge: RemoteVerifier;
    let link: CuttableFetch;
    /** Wall clock of node and edge liveness, moved by hand. */
    const wall = new ManualClock();

    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_USAGE_FLUSH_MS: '0' }, { cluster: { clock: wall } });
      await h.kr.app.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${(h.kr.app.server.address() as AddressInfo).port}`;
      link = cuttableFetch();
      edge = await createRemoteVerifier({
        url,
        token: await h.rootKeyWith(['dataplane:read']),
        edgeId: 'edge-eu-1',
        maxStalenessMs: BOUND_MS,
        clock: new ManualClock(),
        usageFlushMs: 0,
        fetch: link.fetch,
      });
    });
    afterAll(async () => {
      await edge?.close();
      await h?.close();
    });

    const edgeInCluster = async () => {
      const status = await h.json('GET', '/v1/cluster', undefined, 200);
      return { head: status.head as number, edge: status.nodes.find((n: { id: string }) => n.id === 'edge-eu-1') };
    };
    const seqs = async () =>
      (await h.db.store.db.selectFrom('changes').select('seq').orderBy('seq').execute()).map((r) => Number(r.seq));
    const prune = () =>
      new RetentionJob({
        store: h.kr.store,
        clock: h.clock,
        periods: h.kr.config.retention,
        liveAppliedSeqs: () => h.kr.cluster.livePositions(),
        nodeId: 'node-a',
        budgetMs: 3_600_000,
      }).tick();

    it('shows in the cluster view as kind "edge", with its bound and the position sent to it', async () => {
      await h.consumerWithKey();
      await eventually(async () => {
        const { head, edge: row } = await edgeInCluster();
        return row?.appliedSeq === head;
      }, 'the edge caught up in the cluster view');
      const { edge: row } = await edgeInCluster();
      expect(row).toMatchObject({ kind: 'edge', address: '127.0.0.1', lag: 0, self: false, maxStalenessMs: BOUND_MS });
      const self = (await h.json('GET', '/v1/cluster', undefined, 200)).nodes.find((n: { self: boolean }) => n.self);
      expect(self.kind).toBe('node');
    });

    it('holds back change-log retention while within its bound, and no longer once silent for longer', async () => {
      const { head } = await edgeInCluster();
      await eventually(async () => (await edgeInCluster()).edge?.appliedSeq === head, 'the edge at the head');
      // Cut: the node ends the edge's stream (it sees the socket close long before the writes below are done).
      link.cut();
      for (let i = 0; i < 3; i++) await h.consumerWithKey();
      h.clock.advance(8 * DAY);
      const all = await seqs();
      const position: number = (await edgeInCluster()).edge.appliedSeq;
      expect(all.at(-1)).toBeGreaterThan(position);
      // Silent for exactly its bound: still live, still behind by the changes made since the cut.
      wall.advance(BOUND_MS);
      expect((await edgeInCluster()).edge).toMatchObject({ appliedSeq: position, lag: (all.at(-1) ?? 0) - position });
      await prune();
      expect(await seqs()).toEqual(all.filter((s) => s >= position));
      // One millisecond more: it no longer counts; the log is pruned down to its newest change.
      wall.advance(1);
      expect((await edgeInCluster()).edge).toBeUndefined();
      await prune();
      expect(await seqs()).toEqual([all.at(-1)]);
    });
  });
}
