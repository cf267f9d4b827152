import type { ChangeFeed, ChangeFeedOptions } from './change-feed.js';
import { PostgresNotifyFeed } from './postgres-notify-feed.js';
import { SqlitePollFeed } from './sqlite-poll-feed.js';

/** Options of {@link createChangeFeed}. */
export interface CreateChangeFeedOptions extends ChangeFeedOptions {
  /** The PostgreSQL URL to LISTEN on; without it a PostgreSQL store is polled like SQLite. */
  databaseUrl?: string | undefined;
}

/**
 * The change feed that suits the store: LISTEN/NOTIFY on PostgreSQL, polling on SQLite.
 * @example
 * const feed = createChangeFeed({ store, databaseUrl, listeners: [(c) => lookup.apply(c)] });
 * await feed.start();
 */
export function createChangeFeed(options: CreateChangeFeedOptions): ChangeFeed {
  const { databaseUrl, ...common } = options;
  if (options.store.dialect === 'postgres' && databaseUrl) return new PostgresNotifyFeed({ ...common, databaseUrl });
  return new SqlitePollFeed(common);
}
