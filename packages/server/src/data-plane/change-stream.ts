import { type Db, hasChangesUpTo, readChangeLogHead, readChangesAfter } from '@keyroll/storage';
import { edgeChangeOf } from './edge-change.js';

/** What a {@link ChangeStream} is built from. */
export interface ChangeStreamOptions {
  db: Db;
  /** The sequence number after which to send changes. */
  from: number;
  /** Writes a chunk of the event stream; `false` when the socket's buffer is full. */
  write(chunk: string): boolean;
  /** Resolves once a full socket buffer has drained (or the socket closed). */
  drained(): Promise<void>;
  /** How often the log is read for new changes (default 25 ms). */
  pollMs?: number;
  /** How often a heartbeat is sent (default 1,000 ms). */
  heartbeatMs?: number;
}

/** Rows read per query. */
const BATCH = 500;

/**
 * One edge's event stream: polls the change log after its position and writes each change as an SSE
 * `change` event (id = sequence), and a `heartbeat` every second, until stopped. A storage error or a
 * prune that overtakes the position ends the stream: the edge reconnects from its last id (and gets
 * a 410 when it has to reload the snapshot).
 */
export class ChangeStream {
  #position: number;
  #stopped = false;
  #wake: (() => void) | null = null;
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
        }
        if (rows.length === BATCH) continue;
        if (Date.now() - lastBeat >= heartbeatMs) {
          lastBeat = Date.now();
          const head = await readChangeLogHead(this.#o.db);
          this.#o.write(`event: heartbeat\ndata: ${JSON.stringify({ head })}\n\n`);
        }
        await this.#sleep(this.#o.pollMs ?? 25);
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

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
