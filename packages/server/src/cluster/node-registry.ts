import { type Clock, systemClock } from '@keyroll/core';
import {
  forgetNodesSilentSince,
  listNodesHeardSince,
  type NodeHeartbeat,
  removeNode,
  type Store,
  writeNodeHeartbeat,
} from '@keyroll/storage';

/** A node as the registry knows it. */
export type NodeInfo = NodeHeartbeat;

/** What a {@link NodeRegistry} needs. */
export interface NodeRegistryOptions {
  store: Store;
  nodeId: string;
  address: string;
  /** The applied sequence number to report. */
  appliedSeq: () => number;
  /** How often the node writes its heartbeat (default 1,000 ms). */
  heartbeatMs?: number;
  /** A node is live while its last heartbeat is younger than this (default 5,000 ms). */
  ttlMs?: number;
  /** Wall clock of the heartbeats (liveness is about real processes, not business time). */
  clock?: Clock;
}

/** Rows of nodes silent for longer than this are deleted when a node starts. */
const FORGET_AFTER_MS = 24 * 3_600_000;

/**
 * The cluster's node registry: every node upserts its id, address and applied sequence number
 * into `cluster_nodes` on a timer and right after applying changes; a node is live while its
 * heartbeat is younger than the TTL. Heartbeats are telemetry, not state: they are plain upserts
 * outside the serialised mutation lock, so they never queue behind (or hold up) a mutation.
 */
export class NodeRegistry {
  readonly nodeId: string;
  readonly address: string;
  readonly ttlMs: number;
  readonly #o: NodeRegistryOptions;
  readonly #clock: Clock;
  readonly #startedAt: number;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | null = null;
  #again = false;
  #lastError: string | null = null;

  constructor(options: NodeRegistryOptions) {
    this.#o = options;
    this.nodeId = options.nodeId;
    this.address = options.address;
    this.ttlMs = options.ttlMs ?? 5000;
    this.#clock = options.clock ?? systemClock;
    this.#startedAt = this.#clock.now();
  }

  /** Writes the first heartbeat and keeps writing them. */
  async start(): Promise<void> {
    await forgetNodesSilentSince(this.#o.store.db, this.#clock.now() - FORGET_AFTER_MS);
    await this.beat();
    this.#timer = setInterval(() => void this.beat(), this.#o.heartbeatMs ?? 1000);
    this.#timer.unref();
  }

  /** Writes a heartbeat now; writes asked for during one are merged into one more. Never throws. */
  beat(): Promise<void> {
    if (this.#writing) {
      this.#again = true;
      return this.#writing;
    }
    this.#writing = this.#writeLoop().finally(() => {
      this.#writing = null;
    });
    return this.#writing;
  }

  /** Live nodes (heartbeat younger than the TTL), this one included, by id. */
  async liveNodes(): Promise<NodeInfo[]> {
    const now = this.#clock.now();
    const nodes = await listNodesHeardSince(this.#o.store.db, now - this.ttlMs);
    // This node is live by definition, and its own applied sequence is known without a heartbeat.
    const self = nodes.find((n) => n.id === this.nodeId);
    if (self) self.appliedSeq = Math.max(self.appliedSeq, this.#o.appliedSeq());
    else nodes.push(this.#self(now));
    return nodes;
  }

  /** The last heartbeat failure, `null` when the last one was written. */
  get lastError(): string | null {
    return this.#lastError;
  }

  /** Stops heartbeating and removes this node, so that nobody waits for it any more. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#writing;
    await removeNode(this.#o.store.db, this.nodeId).catch(() => undefined);
  }

  async #writeLoop(): Promise<void> {
    do {
      this.#again = false;
      try {
        await writeNodeHeartbeat(this.#o.store.db, this.#self(this.#clock.now()));
        this.#lastError = null;
      } catch (e) {
        this.#lastError = e instanceof Error ? e.message : String(e);
        return;
      }
    } while (this.#again);
  }

  #self(now: number): NodeInfo {
    return {
      id: this.nodeId,
      address: this.address,
      appliedSeq: this.#o.appliedSeq(),
      startedAt: this.#startedAt,
      heartbeatAt: now,
    };
  }
}
