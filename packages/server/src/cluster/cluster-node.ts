import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '@keyroll/core';
import type { Store } from '@keyroll/storage';
import {
  type CachingKeyLookup,
  type ChangeFeed,
  type ChangeFeedStatus,
  type ChangeListener,
  changeLogHead,
  createChangeFeed,
} from '@keyroll/verifier/internal';
import { EdgeRegistry } from './edge-registry.js';
import { type NodeInfo, NodeRegistry } from './node-registry.js';

/** Tuning of a node's membership in the cluster; tests shorten or stretch these. */
export interface ClusterOptions {
  /** This node's id in `/v1/cluster` (default `<host>-<pid>-<random>`). */
  nodeId?: string;
  /** Where this node can be reached, as reported in `/v1/cluster`. */
  address?: string;
  /** SQLite poll interval, or PostgreSQL safety poll (defaults 50 ms and 5,000 ms). */
  pollMs?: number;
  heartbeatMs?: number;
  ttlMs?: number;
  /** Wall clock of heartbeats and liveness (default the system clock). */
  clock?: Clock;
}

/** What a {@link ClusterNode} is built from. */
export interface ClusterNodeOptions extends ClusterOptions {
  store: Store;
  /** The key cache, reported in the node's status. */
  lookup: CachingKeyLookup;
  /** Told of each change, in order: the verification pipeline's caches first, then e.g. metrics. */
  listeners: ChangeListener[];
  /** PostgreSQL URL to LISTEN on; SQLite is polled. */
  databaseUrl?: string | undefined;
  address: string;
}

/** How far the cluster got with a change, for `?wait=true`. */
export interface PropagationResult {
  complete: boolean;
  /** The change-log sequence number waited for. */
  seq: number;
  waitedMs: number;
  /** Live nodes that had applied it. */
  applied: number;
  /** Live nodes that had not, when the wait timed out. */
  lagging: { id: string; address: string; appliedSeq: number }[];
}

/**
 * A node or an edge in a live listing, with its lag behind the head of the change log. For an edge,
 * `appliedSeq` is the last sequence sent to it, `startedAt` when its stream connected and
 * `heartbeatAt` when it was last sent something.
 */
export interface ClusterMember extends NodeInfo {
  kind: 'node' | 'edge';
  lag: number;
  self: boolean;
  /** An edge's staleness bound: it is live while heard from within it. */
  maxStalenessMs?: number;
}

/** How often a propagation wait looks at the registry. */
const WAIT_POLL_MS = 5;

/**
 * This node's part in the cluster: the change feed that keeps its key cache current, and its
 * heartbeat in the node registry; answers "has every live node applied change N?".
 */
export class ClusterNode {
  readonly feed: ChangeFeed;
  readonly registry: NodeRegistry;
  /** Edges following this cluster's change stream. */
  readonly edges: EdgeRegistry;
  readonly lookup: CachingKeyLookup;
  readonly #store: Store;

  constructor(options: ClusterNodeOptions) {
    this.#store = options.store;
    this.lookup = options.lookup;
    this.feed = createChangeFeed({
      store: options.store,
      databaseUrl: options.databaseUrl,
      listeners: options.listeners,
      onApplied: () => void this.registry.beat(),
      ...(options.pollMs !== undefined && { pollMs: options.pollMs }),
    });
    this.registry = new NodeRegistry({
      store: options.store,
      nodeId: options.nodeId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
      address: options.address,
      appliedSeq: () => this.feed.appliedSeq,
      ...(options.heartbeatMs !== undefined && { heartbeatMs: options.heartbeatMs }),
      ...(options.ttlMs !== undefined && { ttlMs: options.ttlMs }),
      ...(options.clock !== undefined && { clock: options.clock }),
    });
    this.edges = new EdgeRegistry({
      store: options.store,
      ...(options.clock !== undefined && { clock: options.clock }),
    });
  }

  /** This node's id. */
  get id(): string {
    return this.registry.nodeId;
  }

  /** Starts following the change log and heartbeating. */
  async start(): Promise<void> {
    await this.feed.start();
    await this.registry.start();
    await this.edges.start();
  }

  /** The newest change-log sequence number. */
  head(): Promise<number> {
    return changeLogHead(this.#store);
  }

  /** Live nodes, then live edges, with their lag behind `head`. */
  async members(head: number): Promise<ClusterMember[]> {
    const [nodes, edges] = await Promise.all([this.registry.liveNodes(), this.edges.liveEdges()]);
    const lag = (seq: number) => Math.max(0, head - seq);
    return [
      ...nodes.map((n) => ({ ...n, kind: 'node' as const, lag: lag(n.appliedSeq), self: n.id === this.id })),
      ...edges.map((e) => ({
        id: e.id,
        address: e.address,
        appliedSeq: e.sentSeq,
        startedAt: e.connectedAt,
        heartbeatAt: e.heardAt,
        kind: 'edge' as const,
        lag: lag(e.sentSeq),
        self: false,
        maxStalenessMs: e.maxStalenessMs,
      })),
    ];
  }

  /** Positions in the change log that retention must keep: every live node's and every live edge's. */
  async livePositions(): Promise<number[]> {
    const [nodes, edges] = await Promise.all([this.registry.liveNodes(), this.edges.liveEdges()]);
    return [...nodes.map((n) => n.appliedSeq), ...edges.map((e) => e.sentSeq)];
  }

  /** Waits (in real time) until every live node has applied `seq`, or `timeoutMs` passes. */
  async waitFor(seq: number, timeoutMs: number): Promise<PropagationResult> {
    const started = performance.now();
    // This node need not wait for its own poll.
    await this.feed.catchUp();
    for (;;) {
      const nodes = await this.registry.liveNodes();
      const lagging = nodes
        .filter((n) => n.appliedSeq < seq)
        .map((n) => ({ id: n.id, address: n.address, appliedSeq: n.appliedSeq }));
      const waitedMs = Math.round(performance.now() - started);
      const applied = nodes.length - lagging.length;
      if (lagging.length === 0) return { complete: true, seq, waitedMs, applied, lagging };
      if (waitedMs >= timeoutMs) return { complete: false, seq, waitedMs, applied, lagging };
      await sleep(Math.min(WAIT_POLL_MS, Math.max(1, timeoutMs - waitedMs)));
    }
  }

  /** The change feed's status. */
  feedStatus(): ChangeFeedStatus {
    return this.feed.status();
  }

  /** Stops the feed and the heartbeat, and leaves the registry. */
  async close(): Promise<void> {
    await this.feed.close();
    await this.registry.close();
  }
}
