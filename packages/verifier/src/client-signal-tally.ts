import type { ClientSighting, ClientSignals, UnknownKeyCount } from '@keyroll/storage';
import type { VerificationEvent } from './observer.js';
import { USAGE_BUCKET_MS } from './usage-meter.js';

/** How a {@link ClientSignalTally} is bounded between two takes. */
export interface ClientSignalTallyOptions {
  /** Distinct (address, user agent) pairs kept per key: the most recently seen (default 20). */
  clientsPerKey?: number;
  /** Distinct addresses of unknown keys counted; the rest are counted as `other` (default 10,000). */
  maxAddresses?: number;
  /** Keys whose clients are tracked (default 10,000). */
  maxKeys?: number;
}

function byId(a: [string, unknown], b: [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** Address recorded when the verifier was not told one. */
export const UNKNOWN_ADDRESS = 'unknown';
const OVERFLOW_ADDRESS = 'other';
const MAX_USER_AGENT = 200;
/** What {@link ClientSignalTally} remembers of a key whose clients it cannot track until its next take. */
const UNTRACKED: ClientSighting = Object.freeze({ address: '', userAgent: '', firstSeen: 0, lastSeen: 0, count: 0 });

/**
 * Counts the per-request signals the usage meter does not, in memory: unknown keys (`NOT_FOUND`,
 * `MALFORMED`) per source address and minute, and a bounded set of the most recent client
 * addresses and user agents of every key ("who still presents the old key"). A node writes them
 * to storage ({@link ClientSignalMeter}); an edge sends them with its usage batches.
 */
export class ClientSignalTally {
  readonly clientsPerKey: number;
  readonly #maxAddresses: number;
  readonly #maxKeys: number;
  #unknown = new Map<string, UnknownKeyCount>();
  #clients = new Map<string, Map<string, ClientSighting>>();
  /**
   * The sighting each key counted last (every one held in `#clients`), or {@link UNTRACKED} for a
   * key that found `#clients` full: spares building the sighting's id while the client stays the same.
   */
  #recent = new Map<string, ClientSighting>();

  constructor(options: ClientSignalTallyOptions = {}) {
    this.clientsPerKey = options.clientsPerKey ?? 20;
    this.#maxAddresses = options.maxAddresses ?? 10_000;
    this.#maxKeys = options.maxKeys ?? 10_000;
  }

  /** Counts one verification. */
  observe(e: VerificationEvent): void {
    if (e.code === 'NOT_FOUND' || e.code === 'MALFORMED') {
      this.#countUnknown(e);
      return;
    }
    if (e.keyId === null) return;
    const recent = this.#recent.get(e.keyId);
    const next = this.sight(e, recent);
    if (next !== recent && next !== undefined) this.#recent.set(e.keyId, next);
  }

  /**
   * Counts the client of one verification of a known key (`e.keyId` set, `e.code` neither
   * `NOT_FOUND` nor `MALFORMED`) for a caller that keeps, per key, what this returned for the key's
   * previous verification since the last take (`recent`; `undefined` for none): answers what to keep
   * next. {@link ClientSignalTally.observe} keeps it in a `Map`; an edge's usage reporter keeps it
   * beside the key's usage, sparing a look-up per verification. Whoever keeps it must forget it at
   * every `take`.
   */
  sight(e: VerificationEvent, recent: ClientSighting | undefined): ClientSighting | undefined {
    if (recent === UNTRACKED) return recent;
    const address = e.ip ?? UNKNOWN_ADDRESS;
    const agent = e.userAgent ?? '';
    const userAgent = agent.length > MAX_USER_AGENT ? agent.slice(0, MAX_USER_AGENT) : agent;
    let seen = recent;
    if (seen === undefined || seen.address !== address || seen.userAgent !== userAgent) {
      const keyId = e.keyId ?? '';
      let clients = this.#clients.get(keyId);
      if (!clients) {
        // Until the next take: `#clients` only grows till then.
        if (this.#clients.size >= this.#maxKeys) return UNTRACKED;
        clients = new Map();
        this.#clients.set(keyId, clients);
      }
      const id = `${address}|${userAgent}`;
      seen = clients.get(id);
      if (!seen) {
        if (clients.size >= this.clientsPerKey) return recent;
        seen = { address, userAgent, firstSeen: e.at, lastSeen: e.at, count: 1 };
        clients.set(id, seen);
        return seen;
      }
    }
    seen.count++;
    seen.lastSeen = Math.max(seen.lastSeen, e.at);
    return seen;
  }

  #countUnknown(e: VerificationEvent): void {
    const address = e.ip ?? UNKNOWN_ADDRESS;
    const minute = e.at - (e.at % USAGE_BUCKET_MS);
    let id = `${address}|${minute}|${e.code}`;
    let counted = this.#unknown.get(id);
    if (!counted && this.#unknown.size >= this.#maxAddresses) {
      id = `${OVERFLOW_ADDRESS}|${minute}|${e.code}`;
      counted = this.#unknown.get(id);
    }
    if (counted) counted.count++;
    else this.#unknown.set(id, { address: id.split('|')[0] ?? address, minute, code: e.code, count: 1 });
  }

  /** Whether nothing was counted since the last take. */
  get empty(): boolean {
    return this.#unknown.size === 0 && this.#clients.size === 0;
  }

  /**
   * What was counted since the last take, and starts afresh. Rows come in a fixed order, so that two
   * writers at once cannot deadlock on PostgreSQL.
   */
  take(): ClientSignals {
    const unknownKeys = [...this.#unknown.entries()].sort(byId).map(([, u]) => u);
    const clients = [...this.#clients.entries()]
      .sort(byId)
      .map(([keyId, seen]): [string, ClientSighting[]] => [keyId, [...seen.entries()].sort(byId).map(([, c]) => c)]);
    this.#unknown = new Map();
    this.#clients = new Map();
    this.#recent = new Map();
    return { unknownKeys, clients, clientsPerKey: this.clientsPerKey };
  }
}
