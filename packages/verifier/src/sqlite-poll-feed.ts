import { type ChangeFeed, type ChangeFeedOptions, type ChangeFeedStatus, ChangeFollower } from './change-feed.js';

/**
 * Follows the change log by polling it (default every 50 ms): the feed of SQLite, where several
 * processes on one database file converge this way. Works on any database.
 */
export class SqlitePollFeed implements ChangeFeed {
  readonly #follower: ChangeFollower;
  readonly #pollMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: ChangeFeedOptions) {
    this.#follower = new ChangeFollower(options);
    this.#pollMs = options.pollMs ?? 50;
  }

  get appliedSeq(): number {
    return this.#follower.appliedSeq;
  }

  async start(): Promise<void> {
    await this.#follower.start();
    this.#timer = setInterval(() => void this.#follower.catchUp(), this.#pollMs);
    this.#timer.unref();
  }

  catchUp(): Promise<void> {
    return this.#follower.catchUp();
  }

  status(): ChangeFeedStatus {
    return { mode: 'poll', ...this.#follower.state() };
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#follower.idle();
  }
}
