import { type Clock, systemClock } from '@keyroll/core';
import {
  type EdgeHeartbeat,
  forgetEdgesSilentSince,
  listLiveEdges,
  type Store,
  writeEdgeHeartbeat,
} from '@keyroll/storage';

/** What an {@link EdgeRegistry} needs. */
export interface EdgeRegistryOptions {
  store: Store;
  /** Wall clock of liveness (the node registry's). */
  clock?: Clock;
}

/** An edge as it introduces itself on the change stream. */
export interface EdgeIdentity {
  id: string;
  address: string;
  maxStalenessMs: number;
}

/** Rows of edges silent for longer than this are deleted when a node starts. */
const FORGET_AFTER_MS = 24 * 3_600_000;

/**
 * Edges connected to this node's change stream, in `edge_nodes`: each event or heartbeat sent to an
 * edge records its position (the last sequence sent); an edge is live (it holds back change-log
 * retention and shows in the cluster view) while heard from within its own staleness bound. Writes
 * of one edge asked for during one are merged into one more; they never throw.
 */
export class EdgeRegistry {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #writing = new Map<string, { done: Promise<void>; next: EdgeHeartbeat | null }>();

  constructor(options: EdgeRegistryOptions) {
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
  }

  /** Deletes rows of long-gone edges. */
  async start(): Promise<void> {
    await forgetEdgesSilentSince(this.#store.db, this.#clock.now() - FORGET_AFTER_MS);
  }

  /**
   * An edge's stream connected now: returns what to call with the position each time it is sent
   * something (an event or a heartbeat).
   */
  connected(edge: EdgeIdentity): (sentSeq: number) => void {
    const connectedAt = this.#clock.now();
    return (sentSeq) => void this.#sent(edge, connectedAt, sentSeq);
  }

  #sent(edge: EdgeIdentity, connectedAt: number, sentSeq: number): Promise<void> {
    const beat: EdgeHeartbeat = { ...edge, connectedAt, sentSeq, heardAt: this.#clock.now() };
    const running = this.#writing.get(edge.id);
    if (running) {
      running.next = beat;
      return running.done;
    }
    const entry: { done: Promise<void>; next: EdgeHeartbeat | null } = { done: Promise.resolve(), next: beat };
    entry.done = (async () => {
      while (entry.next) {
        const next = entry.next;
        entry.next = null;
        await writeEdgeHeartbeat(this.#store.db, next).catch(() => undefined);
      }
      this.#writing.delete(edge.id);
    })();
    this.#writing.set(edge.id, entry);
    return entry.done;
  }

  /** Edges heard from within their staleness bound, by id. */
  liveEdges(): Promise<EdgeHeartbeat[]> {
    return listLiveEdges(this.#store.db, this.#clock.now());
  }
}
