import type { Clock } from '@keyroll/core';
import { checkEdgeKey, checkEdgeLimits, type EdgeChange, type EdgeConsumer, type EdgePlan } from './data-plane-wire.js';
import type { KeyTable } from './key-table.js';
import { checkResponse, readSnapshot, SNAPSHOT_PATH, UpstreamRefusal } from './snapshot-reader.js';
import { readServerSentEvents } from './sse-reader.js';
import type { TableLimitSource } from './table-limit-source.js';

/** What the edge does once it has not heard from the control plane for its staleness bound. */
export type OnStale = 'refuse' | 'serve-cached';

/** Told of what an edge's link does (connects, losses, reloads, staleness); never given the token. */
export type LinkLogger = (event: { level: 'info' | 'warn'; msg: string; [field: string]: unknown }) => void;

/** What a {@link DataPlaneLink} is built from. */
export interface DataPlaneLinkOptions {
  base: URL;
  token: string;
  table: KeyTable;
  limits: TableLimitSource;
  clock: Clock;
  maxStalenessMs: number;
  onStale: OnStale;
  /** This edge's name, sent on the change stream with its staleness bound (it then counts as live there). */
  edgeId: string;
  log: LinkLogger;
  fetch: typeof fetch;
}

/** How an edge's link to the control plane is doing (for `/readyz`, `/metrics` and logs). */
export interface DataPlaneLinkStatus {
  /** True while the change stream is open. */
  connected: boolean;
  /** The last change sequence applied. */
  appliedSeq: number;
  /** Epoch ms (the injected clock) of the last bytes received from the control plane. */
  lastHeardAt: number;
  /** True when nothing was heard for longer than the staleness bound. */
  stale: boolean;
  onStale: OnStale;
  /** True while keys are refused for staleness (`onStale: 'refuse'`). */
  refusing: boolean;
  /** Snapshots loaded, the boot one included. */
  snapshotLoads: number;
  reconnects: number;
  keys: number;
  lastError: string | null;
}

/** Longest wait between two attempts to reach the control plane. */
const MAX_BACKOFF_MS = 2000;

/**
 * Follows the control plane: boots from its snapshot, then applies the change stream, reconnecting
 * with `Last-Event-ID` and reloading the snapshot when answered 410 `CHANGES_PRUNED`. A stream that
 * stays open but silent beyond the staleness bound is dropped and reconnected.
 */
export class DataPlaneLink {
  readonly #o: DataPlaneLinkOptions;
  #appliedSeq = 0;
  #lastHeardAt: number;
  #connected = false;
  #closed = false;
  #abort: AbortController | null = null;
  #loop: Promise<void> | null = null;
  #watchdog: NodeJS.Timeout | undefined;
  #wasStale = false;
  #snapshotLoads = 0;
  #reconnects = 0;
  #lastError: string | null = null;
  #needsSnapshot = false;

  constructor(options: DataPlaneLinkOptions) {
    this.#o = options;
    this.#lastHeardAt = options.clock.now();
  }

  /** Loads the snapshot (throws when the control plane cannot give it), then follows changes in the background. */
  async start(): Promise<void> {
    await this.#loadSnapshot();
    this.#loop = this.#follow();
    // Checked at least every 100 ms: a silent link is noticed within the bound plus 100 ms.
    const every = Math.max(1, Math.min(100, Math.floor(this.#o.maxStalenessMs / 2)));
    this.#watchdog = setInterval(() => this.#checkStaleness(), every);
    this.#watchdog.unref();
  }

  /**
   * Whether nothing has been heard from the control plane for longer than the bound at `now` (epoch
   * ms of the injected clock; read from it when not given).
   */
  stale(now = this.#o.clock.now()): boolean {
    return now - this.#lastHeardAt > this.#o.maxStalenessMs;
  }

  /** Whether keys must be refused at `now` (read from the clock when not given): stale under `onStale: 'refuse'`. */
  refusing(now?: number): boolean {
    return this.#o.onStale === 'refuse' && this.stale(now);
  }

  status(): DataPlaneLinkStatus {
    const stale = this.stale();
    return {
      connected: this.#connected,
      appliedSeq: this.#appliedSeq,
      lastHeardAt: this.#lastHeardAt,
      stale,
      onStale: this.#o.onStale,
      refusing: stale && this.#o.onStale === 'refuse',
      snapshotLoads: this.#snapshotLoads,
      reconnects: this.#reconnects,
      keys: this.#o.table.size,
      lastError: this.#lastError,
    };
  }

  /** Stops following and waits for the loop to end. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#watchdog);
    this.#abort?.abort();
    await this.#loop;
  }

  #heard(): void {
    this.#lastHeardAt = this.#o.clock.now();
  }

  #checkStaleness(): void {
    const stale = this.stale();
    if (stale && !this.#wasStale) {
      this.#o.log({
        level: 'warn',
        msg:
          this.#o.onStale === 'refuse'
            ? 'edge is stale: refusing keys until the control plane is heard from again'
            : 'edge is stale: serving cached keys (onStale: serve-cached) — revocations may be missed',
        maxStalenessMs: this.#o.maxStalenessMs,
      });
      // An open but silent stream counts as lost: drop it, the loop reconnects.
      this.#abort?.abort();
    } else if (!stale && this.#wasStale) {
      this.#o.log({ level: 'info', msg: 'edge is current again' });
    }
    this.#wasStale = stale;
  }

  async #loadSnapshot(): Promise<void> {
    const res = await this.#o.fetch(new URL(SNAPSHOT_PATH, this.#o.base), {
      headers: { authorization: `Bearer ${this.#o.token}`, accept: 'application/x-ndjson' },
    });
    // Keys go straight into a new table as they stream in; it replaces the current one only once
    // the whole snapshot has been read (a failed load leaves the current table as it was).
    const snapshot = await readSnapshot(res, (expectedKeys) => this.#o.table.load(expectedKeys));
    snapshot.sink.commit();
    this.#o.limits.replaceAll(snapshot.consumers, snapshot.plans);
    this.#appliedSeq = snapshot.seq;
    this.#snapshotLoads++;
    this.#needsSnapshot = false;
    this.#heard();
    this.#o.log({ level: 'info', msg: 'snapshot loaded', seq: snapshot.seq, keys: snapshot.keys });
  }

  async #follow(): Promise<void> {
    let backoff = 100;
    while (!this.#closed) {
      try {
        if (this.#needsSnapshot) await this.#loadSnapshot();
        await this.#stream(() => {
          backoff = 100;
        });
      } catch (e) {
        if (this.#closed) return;
        if (e instanceof UpstreamRefusal && e.code === 'CHANGES_PRUNED') {
          this.#needsSnapshot = true;
          this.#o.log({ level: 'warn', msg: 'changes pruned past this edge: reloading the snapshot' });
          continue;
        }
        this.#lastError = e instanceof Error ? e.message : String(e);
      }
      this.#connected = false;
      if (this.#closed) return;
      this.#reconnects++;
      await new Promise((resolve) => setTimeout(resolve, backoff).unref());
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  async #stream(onOpen: () => void): Promise<void> {
    this.#abort = new AbortController();
    const res = await this.#o.fetch(new URL('v1/data-plane/changes', this.#o.base), {
      headers: {
        authorization: `Bearer ${this.#o.token}`,
        accept: 'text/event-stream',
        'last-event-id': String(this.#appliedSeq),
        'x-keyroll-edge-id': this.#o.edgeId,
        'x-keyroll-edge-max-staleness': String(this.#o.maxStalenessMs),
      },
      signal: this.#abort.signal,
    });
    await checkResponse(res);
    if (!res.body) return;
    this.#connected = true;
    this.#lastError = null;
    onOpen();
    for await (const event of readServerSentEvents(res.body, () => this.#heard())) {
      if (event.event !== 'change' || event.id === undefined) continue;
      const seq = Number(event.id);
      if (!Number.isSafeInteger(seq) || seq <= this.#appliedSeq) continue;
      this.#apply(JSON.parse(event.data) as EdgeChange);
      this.#appliedSeq = seq;
    }
  }

  #apply(change: EdgeChange): void {
    if (change.key !== undefined) {
      if (change.key) this.#o.table.set(checkEdgeKey(change.key));
      else if (change.keyHash) this.#o.table.delete(change.keyHash);
    }
    if (change.consumer !== undefined) {
      this.#o.limits.setConsumer(change.entityId, change.consumer && checkEdgeLimits<EdgeConsumer>(change.consumer));
    }
    if (change.plan !== undefined) {
      this.#o.limits.setPlan(change.entityId, change.plan && checkEdgeLimits<EdgePlan>(change.plan));
    }
  }
}
