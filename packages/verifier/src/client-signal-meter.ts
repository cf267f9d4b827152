import { type ClientSighting, recordClientSignals, type Store } from '@keyroll/storage';
import type { VerificationEvent, VerificationObserver } from './observer.js';
import { USAGE_BUCKET_MS } from './usage-meter.js';

/** What a {@link ClientSignalMeter} needs. */
export interface ClientSignalMeterOptions {
  store: Store;
  /** How often signals are written, in ms (0: only on {@link ClientSignalMeter.flush}). */
  flushIntervalMs: number;
  /** Distinct (address, user agent) pairs kept per key: the most recently seen (default 20). */
  clientsPerKey?: number;
  /** Distinct addresses of unknown keys counted between two flushes; the rest are counted as `other` (default 10,000). */
  maxAddresses?: number;
  /** Keys whose clients are tracked between two flushes (default 10,000). */
  maxKeys?: number;
}

function byId(a: [string, unknown], b: [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** Address recorded when the verifier was not told one. */
export const UNKNOWN_ADDRESS = 'unknown';
const OVERFLOW_ADDRESS = 'other';
const MAX_USER_AGENT = 200;

/**
 * Keeps the per-request signals the usage meter does not: unknown keys (`NOT_FOUND`, `MALFORMED`)
 * counted per source address and minute, and a bounded set of the most recent client addresses and
 * user agents of every key ("who still presents the old key"). Memory is bounded between flushes
 * and storage is bounded per key.
 */
export class ClientSignalMeter implements VerificationObserver {
  readonly #store: Store;
  readonly #perKey: number;
  readonly #maxAddresses: number;
  readonly #maxKeys: number;
  #unknown = new Map<string, { address: string; minute: number; code: string; count: number }>();
  #clients = new Map<string, Map<string, ClientSighting>>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(options: ClientSignalMeterOptions) {
    this.#store = options.store;
    this.#perKey = options.clientsPerKey ?? 20;
    this.#maxAddresses = options.maxAddresses ?? 10_000;
    this.#maxKeys = options.maxKeys ?? 10_000;
    if (options.flushIntervalMs > 0) {
      this.#timer = setInterval(() => void this.flush().catch(() => undefined), options.flushIntervalMs);
      this.#timer.unref();
    }
  }

  observe(e: VerificationEvent): void {
    const address = e.ip ?? UNKNOWN_ADDRESS;
    if (e.code === 'NOT_FOUND' || e.code === 'MALFORMED') {
      const minute = e.at - (e.at % USAGE_BUCKET_MS);
      let id = `${address}|${minute}|${e.code}`;
      let counted = this.#unknown.get(id);
      if (!counted && this.#unknown.size >= this.#maxAddresses) {
        id = `${OVERFLOW_ADDRESS}|${minute}|${e.code}`;
        counted = this.#unknown.get(id);
      }
      if (counted) counted.count++;
      else this.#unknown.set(id, { address: id.split('|')[0] ?? address, minute, code: e.code, count: 1 });
      return;
    }
    if (e.keyId === null) return;
    let clients = this.#clients.get(e.keyId);
    if (!clients) {
      if (this.#clients.size >= this.#maxKeys) return;
      clients = new Map();
      this.#clients.set(e.keyId, clients);
    }
    const userAgent = (e.userAgent ?? '').slice(0, MAX_USER_AGENT);
    const id = `${address}|${userAgent}`;
    const seen = clients.get(id);
    if (seen) {
      seen.count++;
      seen.lastSeen = Math.max(seen.lastSeen, e.at);
    } else if (clients.size < this.#perKey) {
      clients.set(id, { address, userAgent, firstSeen: e.at, lastSeen: e.at, count: 1 });
    }
  }

  /** Writes the signals gathered so far; concurrent calls run one after another. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.catch(() => undefined).then(() => this.#flushNow());
    return this.#flushing;
  }

  async #flushNow(): Promise<void> {
    // Rows are written in a fixed order, so that two nodes flushing at once cannot deadlock on PostgreSQL.
    const unknown = [...this.#unknown.entries()].sort(byId).map(([, u]) => u);
    const clients = [...this.#clients.entries()]
      .sort(byId)
      .map(([keyId, seen]): [string, ClientSighting[]] => [keyId, [...seen.entries()].sort(byId).map(([, c]) => c)]);
    if (unknown.length === 0 && clients.length === 0) return;
    this.#unknown = new Map();
    this.#clients = new Map();
    // Signals are best effort: on a storage error they are dropped, never retried without bound.
    await recordClientSignals(this.#store.db, { unknownKeys: unknown, clients, clientsPerKey: this.#perKey });
  }

  /** Stops the timer and flushes what is left. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.flush();
  }
}
