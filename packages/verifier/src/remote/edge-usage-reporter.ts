import { randomUUID } from 'node:crypto';
import type { EdgeUsageBatch, EdgeUsageBucket } from '@keyroll/storage';
import { ClientSignalTally } from '../client-signal-tally.js';
import type { VerificationEvent, VerificationObserver } from '../observer.js';
import { USAGE_BUCKET_MS } from '../usage-meter.js';
import { checkResponse } from './snapshot-reader.js';

/** What an {@link EdgeUsageReporter} is built from. */
export interface EdgeUsageReporterOptions {
  base: URL;
  token: string;
  fetch: typeof fetch;
  /** How often a batch is sent, in ms (default 1,000; 0: only on `flush()`). */
  flushIntervalMs?: number;
}

/** Most buckets in one batch (the node refuses more). */
export const MAX_USAGE_BUCKETS = 10_000;
/** Client signals between two batches: at most 500 keys × 20 clients, and 5,000 unknown-key rows (plus `other`). */
const SIGNAL_BOUNDS = { maxKeys: 500, clientsPerKey: 20, maxAddresses: 5000 };
/** Longest client address the node takes. */
const MAX_ADDRESS = 64;

/**
 * Counts an edge's verifications per key, minute and outcome, and its client signals (unknown keys
 * per address, recent clients per key: {@link ClientSignalTally}), and sends them to the control
 * plane (`POST /v1/data-plane/usage`) in batches. At least once and idempotent: a batch that was not
 * acknowledged is sent again, unchanged and with the same id, before anything newer, so a retry
 * after a lost answer or an outage never counts twice.
 */
export class EdgeUsageReporter implements VerificationObserver {
  readonly #o: EdgeUsageReporterOptions;
  #buckets = new Map<string, EdgeUsageBucket>();
  /** When each key was last used (boxed, so that a later use updates it in place). */
  #lastUsed = new Map<string, { at: number }>();
  /** The minute of the last verification counted (computed again only when a verification falls outside it). */
  #minute = 0;
  /**
   * The bucket each key counted into last (every one held in `#buckets`, never one taken into a
   * batch): spares building the bucket's id while the key's minute and outcome stay the same.
   */
  #recent = new Map<string, EdgeUsageBucket>();
  readonly #signals = new ClientSignalTally(SIGNAL_BOUNDS);
  #unacknowledged: EdgeUsageBatch | null = null;
  #flushing: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: EdgeUsageReporterOptions) {
    this.#o = options;
    const every = options.flushIntervalMs ?? 1000;
    if (every > 0) {
      this.#timer = setInterval(() => void this.flush().catch(() => undefined), every);
      this.#timer.unref();
    }
  }

  observe(e: VerificationEvent): void {
    this.#signals.observe(e);
    if (e.keyId === null) return;
    let minute = this.#minute;
    if (e.at < minute || e.at >= minute + USAGE_BUCKET_MS) this.#minute = minute = e.at - (e.at % USAGE_BUCKET_MS);
    const recent = this.#recent.get(e.keyId);
    if (recent !== undefined && recent.minute === minute && recent.code === e.code) recent.count++;
    else {
      const id = `${e.keyId}|${minute}|${e.code}`;
      let bucket = this.#buckets.get(id);
      if (bucket) bucket.count++;
      else {
        bucket = { keyId: e.keyId, minute, code: e.code, count: 1 };
        this.#buckets.set(id, bucket);
      }
      this.#recent.set(e.keyId, bucket);
    }
    if (e.code === 'VALID') {
      const used = this.#lastUsed.get(e.keyId);
      if (used === undefined) this.#lastUsed.set(e.keyId, { at: e.at });
      else if (used.at < e.at) used.at = e.at;
    }
  }

  /** Sends the unacknowledged batch, then what was counted since; rejects when the control plane cannot take it. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.catch(() => undefined).then(() => this.#flushNow());
    return this.#flushing;
  }

  /** Stops the timer and tries one last flush. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush().catch(() => undefined);
  }

  async #flushNow(): Promise<void> {
    if (this.#unacknowledged) await this.#send(this.#unacknowledged);
    while (this.#buckets.size > 0 || this.#lastUsed.size > 0 || !this.#signals.empty) {
      this.#unacknowledged = this.#takeBatch();
      await this.#send(this.#unacknowledged);
    }
  }

  #takeBatch(): EdgeUsageBatch {
    // A batch is sent unchanged however often it is retried: no bucket taken into it may count on.
    this.#recent = new Map();
    const buckets: EdgeUsageBucket[] = [];
    for (const [id, b] of this.#buckets) {
      if (buckets.length >= MAX_USAGE_BUCKETS) break;
      buckets.push(b);
      this.#buckets.delete(id);
    }
    const lastUsed = [...this.#lastUsed].slice(0, MAX_USAGE_BUCKETS).map(([keyId, used]) => ({ keyId, at: used.at }));
    for (const { keyId } of lastUsed) this.#lastUsed.delete(keyId);
    const signals = this.#signals.take();
    return {
      id: randomUUID(),
      buckets,
      lastUsed,
      unknownKeys: signals.unknownKeys.map((u) => ({ ...u, address: u.address.slice(0, MAX_ADDRESS) })),
      clients: signals.clients.flatMap(([keyId, seen]) =>
        seen.map((c) => ({ keyId, ...c, address: c.address.slice(0, MAX_ADDRESS) })),
      ),
    };
  }

  async #send(batch: EdgeUsageBatch): Promise<void> {
    const res = await this.#o.fetch(new URL('v1/data-plane/usage', this.#o.base), {
      method: 'POST',
      headers: { authorization: `Bearer ${this.#o.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(batch),
    });
    await checkResponse(res);
    this.#unacknowledged = null;
  }
}
