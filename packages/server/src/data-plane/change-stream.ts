import { type Db, hasChangesUpTo, readChangesAfter } from '@keyroll/storage';
import { edgeChangeOf } from './edge-change.js';
import type { HeadWatcher } from './head-watcher.js';

/** What a {@link ChangeStream} is built from. */
export interface ChangeStreamOptions {
  db: Db;
  /** The node's shared poll of the change-log head. */
  heads: HeadWatcher;
  /** The sequence number after which to send changes. */
  from: number;
  /** Writes a chunk of the event stream; `false` when the socket's buffer is full. */
  write(chunk: string): boolean;
  /** Resolves once a full socket buffer has drained (or the socket closed). */
  drained(): Promise<void>;
  /** How often a heartbeat is sent (default 1,000 ms). */
  heartbeatMs?: number;
  /** Told the position after each change event and heartbeat written (the edge's liveness). */
  onSent?: (seq: number) => void;
}

/** Rows read per query. */
const BATCH = 500;

/**
 * One edge's event stream: reads the change log after its position whenever the shared
 * {@link HeadWatcher} sees the head move past it, writes each change as an SSE `change` event
 * (id = sequence), and a `heartbeat` every second while caught up, until stopped. A storage error or a
 * prune that overtakes the position ends the stream: the edge reconnects from its last id (and gets
 * a 410 when it has to reload the snapshot).
 */
export class ChangeStream {
  #position: number;
  #stopped = false;
  #wake: (() => void) | null = null;
  /** Whether the log may hold rows after the position: checked first, then only when the head moves past it. */
  #behind = true;
  readonly #o: ChangeStreamOptions;

  constructor(options: ChangeStreamOptions) {
    this.#o = options;
    this.#position = options.from;
  }

  /** Sends until {@link ChangeStream.stop}, a storage error or a prune; never throws. */
  async run(): Promise<void> {
    const heartbeatMs = this.#o.heartbeatMs ?? 1000;
    let lastBeat = 0;
    try {
      this.#o.write(': keyroll data plane\n\n');
      while (!this.#stopped) {
        if (this.#behind) {
          const rows = await readChangesAfter(this.#o.db, this.#position, BATCH);
          const first = rows[0];
          if (first && first.seq > this.#position + 1 && !(await hasChangesUpTo(this.#o.db, this.#position))) return;
          for (const row of rows) {
            const event = await edgeChangeOf(this.#o.db, row);
            if (this.#stopped) return;
            this.#position = row.seq;
            // A slow edge is not buffered without bound: wait for its socket before reading more.
            if (!this.#o.write(`id: ${row.seq}\nevent: change\ndata: ${JSON.stringify(event)}\n\n`)) {
              await this.#o.drained();
            }
            this.#o.onSent?.(row.seq);
          }
          this.#behind = rows.length === BATCH;
          if (this.#behind) continue;
        }
        // A heartbeat says "caught up with the log as of now": only sent with nothing left to send.
        if (Date.now() - lastBeat >= heartbeatMs) {
          lastBeat = Date.now();
          this.#o.write(`event: heartbeat\ndata: ${JSON.stringify({ head: this.#position })}\n\n`);
          this.#o.onSent?.(this.#position);
        }
        const tick = this.#o.heads.nextTick();
        this.#wake = tick.wake;
        await tick.promise;
        const { head, failed } = this.#o.heads.state;
        if (failed) return; // storage is away: no more heartbeats, the edge's bound runs
        if (head > this.#position) this.#behind = true;
      }
    } catch {
      // Storage went away: end the stream; the edge reconnects with its Last-Event-ID.
    }
  }

  /** Ends the stream (the client went away). */
  stop(): void {
    this.#stopped = true;
    this.#wake?.();
  }
}
