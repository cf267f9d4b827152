import { randomUUID } from 'node:crypto';
import type { ClientSighting, EdgeUsageBatch, EdgeUsageBucket } from '@keyroll/storage';
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

/** What a reporter keeps of a key between two batches. */
interface KeyUsage {
  /** The bucket the key counted into last: one of `#buckets`, never one taken into a batch (`null`: none yet). */
  bucket: EdgeUsageBucket | null;
  /** Epoch ms of its last `VALID` verification not sent yet (0: none); in `#lastUsed` whenever set. */
  lastUsed: number;
  /** What `#signals.sight` answered for the key last since the last batch was taken (`undefined`: none). */
  sighting: ClientSighting | undefined;
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
  readonly readsDuration = false;
  readonly #o: EdgeUsageReporterOptions;
  #buckets = new Map<string, EdgeUsageBucket>();
  /** Every key counted since the last batch was taken (one look-up per verification finds all of it). */
  #keys = new Map<string, KeyUsage>();
  /** The keys whose last use waits to be sent (those of `#keys` with one, and any left over by a full batch). */
  #lastUsed = new Map<string, KeyUsage>();
  /** The minute of the last verification counted (computed again only when a verification falls outside it). */
  #minute = 0;
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
    if (e.keyId === null || e.code === 'NOT_FOUND' || e.code === 'MALFORMED') {
      this.#signals.observe(e);
      if (e.keyId === null) return;
    }
    let minute = this.#minute;
    if (e.at < minute || e.at >= minute + USAGE_BUCKET_MS) this.#minute = minute = e.at - (e.at % USAGE_BUCKET_MS);
    let key = this.#keys.get(e.keyId);
    if (key === undefined) {
      // First seen since the last batch was taken: its last use may still wait to be sent.
      key = this.#lastUsed.get(e.keyId) ?? { bucket: null, lastUsed: 0, sighting: undefined };
      key.bucket = null;
      key.sighting = undefined;
      this.#keys.set(e.keyId, key);
    }
    // Its client, with the sighting kept here (`#keys` and `#signals` start afresh together: `#takeBatch`).
    if (e.code !== 'NOT_FOUND' && e.code !== 'MALFORMED') key.sighting = this.#signals.sight(e, key.sighting);
    const recent = key.bucket;
    if (recent !== null && recent.minute === minute && recent.code === e.code) recent.count++;
    else {
      const id = `${e.keyId}|${minute}|${e.code}`;
      let bucket = this.#buckets.get(id);
      if (bucket) bucket.count++;
      else {
        bucket = { keyId: e.keyId, minute, code: e.code, count: 1 };
        this.#buckets.set(id, bucket);
      }
      key.bucket = bucket;
    }
    if (e.code === 'VALID' && key.lastUsed < e.at) {
      if (key.lastUsed === 0) this.#lastUsed.set(e.keyId, key);
      key.lastUsed = e.at;
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
    this.#keys = new Map();
    const buckets: EdgeUsageBucket[] = [];
    for (const [id, b] of this.#buckets) {
      if (buckets.length >= MAX_USAGE_BUCKETS) break;
      buckets.push(b);
      this.#buckets.delete(id);
    }
    const lastUsed = [...this.#lastUsed]
      .slice(0, MAX_USAGE_BUCKETS)
      .map(([keyId, key]) => ({ keyId, at: key.lastUsed }));
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
