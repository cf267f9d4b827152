import { PG_CHANGE_CHANNEL, PG_CHANGE_ROW_CHANNEL, parseChangeRow } from '@keyroll/storage';
import pg from 'pg';
import { type ChangeFeed, type ChangeFeedOptions, type ChangeFeedStatus, ChangeFollower } from './change-feed.js';

/** What a {@link PostgresNotifyFeed} needs beyond the common feed options. */
export interface PostgresNotifyFeedOptions extends ChangeFeedOptions {
  /** The database to LISTEN on, with a connection of its own (not one of the pool's). */
  databaseUrl: string;
  /** Longest wait between reconnection attempts (default 2,000 ms; starts at 50 ms). */
  maxReconnectDelayMs?: number;
}

/** `application_name` of the listening connection, so operators (and tests) can find it. */
export const FEED_APPLICATION_NAME = 'keyroll-change-feed';

/**
 * Follows the change log with PostgreSQL `LISTEN keyroll_changes` and `LISTEN keyroll_change_rows`
 * on a dedicated connection. A row notice (the whole change) that is the very next sequence number
 * is applied as it arrives, without reading the log; any other notice whose sequence number is
 * ahead of the applied one (a gap, a notice from a node that only sends sequence numbers) triggers
 * a catch-up by sequence, so a lost notice costs nothing once the next one, the reconnection, or the
 * slow safety poll (default every 5 s) comes. After the connection drops, it reconnects with
 * backoff and catches up.
 */
export class PostgresNotifyFeed implements ChangeFeed {
  readonly #follower: ChangeFollower;
  readonly #o: PostgresNotifyFeedOptions;
  #client: pg.Client | null = null;
  #listening = false;
  #closed = false;
  #delay = 50;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #connecting: Promise<void> | null = null;

  constructor(options: PostgresNotifyFeedOptions) {
    this.#o = options;
    this.#follower = new ChangeFollower(options);
  }

  get appliedSeq(): number {
    return this.#follower.appliedSeq;
  }

  async start(): Promise<void> {
    await this.#follower.start();
    await this.#connect();
    this.#pollTimer = setInterval(() => void this.#follower.catchUp(), this.#o.pollMs ?? 5000);
    this.#pollTimer.unref();
  }

  catchUp(): Promise<void> {
    return this.#follower.catchUp();
  }

  status(): ChangeFeedStatus {
    const state = this.#follower.state();
    return {
      mode: 'postgres-notify',
      ...state,
      connected: state.connected && this.#listening,
      lastError: state.lastError ?? (this.#listening ? null : 'change listener disconnected'),
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#pollTimer);
    clearTimeout(this.#reconnectTimer);
    await this.#connecting;
    const client = this.#client;
    this.#client = null;
    this.#listening = false;
    await client?.end().catch(() => undefined);
    await this.#follower.idle();
  }

  #connect(): Promise<void> {
    this.#connecting = this.#tryConnect().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  async #tryConnect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#o.databaseUrl, application_name: FEED_APPLICATION_NAME });
    this.#client = client;
    // Both fire when the server goes away; the identity check makes one reconnection of them.
    client.on('error', () => this.#lost(client));
    client.on('end', () => this.#lost(client));
    client.on('notification', (n) => this.#notified(n.channel, n.payload));
    try {
      await client.connect();
      await client.query(`LISTEN ${PG_CHANGE_CHANNEL}; LISTEN ${PG_CHANGE_ROW_CHANNEL}`);
    } catch {
      this.#lost(client);
      return;
    }
    if (this.#closed) return;
    this.#listening = true;
    this.#delay = 50;
    // Whatever was committed while nobody listened is read now.
    void this.#follower.catchUp();
  }

  #notified(channel: string, payload: string | undefined): void {
    let seq: number;
    if (channel === PG_CHANGE_ROW_CHANNEL) {
      const change = payload === undefined ? null : parseChangeRow(payload);
      if (!change) return; // its sequence-number notice follows
      if (this.#follower.applyAnnounced(change)) return;
      seq = change.seq;
    } else if (channel === PG_CHANGE_CHANNEL) {
      seq = Number(payload);
    } else {
      return;
    }
    if (seq > this.#follower.appliedSeq) void this.#follower.catchUp();
  }

  #lost(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = null;
    this.#listening = false;
    client.end().catch(() => undefined);
    if (this.#closed) return;
    this.#reconnectTimer = setTimeout(() => void this.#connect(), this.#delay);
    this.#reconnectTimer.unref();
    this.#delay = Math.min(this.#delay * 2, this.#o.maxReconnectDelayMs ?? 2000);
  }
}
