import type { Clock } from '@keyroll/core';
import { createStore } from '@keyroll/storage';
import { createChangeFeed } from './create-change-feed.js';
import { createRateLimiter } from './limiter/create-rate-limiter.js';
import type { RootKeyListener } from './root-key-audit.js';
import { createVerificationPipeline } from './verification-pipeline.js';
import type { Verifier } from './verifier.js';

/** Where a provider's process finds keyroll's data; the same values as the keyroll server's. */
export interface CreateVerifierOptions {
  /** `postgres://…` or `sqlite:<file>` — keyroll's database (`KEYROLL_DATABASE_URL`). */
  databaseUrl: string;
  /**
   * `redis://…` for cluster-wide rate limits and quotas (`KEYROLL_REDIS_URL`); node-local without it.
   * Like a keyroll node, limits then fail closed: an unreachable Redis rejects `createVerifier` with a
   * `RedisUnreachableError`, and while Redis is away keys with limits are refused (`UNAVAILABLE`, 503).
   */
  redisUrl?: string | undefined;
  /** Prefix of Redis keys; must match the keyroll server's (default `keyroll:`). */
  redisPrefix?: string | undefined;
  /** How often usage counts and client signals (recent clients, unknown keys) are written, in ms (default 1,000). */
  usageFlushMs?: number;
  /** Most keys cached in memory (default 100,000). */
  maxKeys?: number;
  clock?: Clock;
  /**
   * Told when a root key is presented (it is refused as `NOT_FOUND` either way), e.g. to alert.
   * keyroll nodes record `root_key.presented_to_verifier` in the audit log; an embedded verifier
   * does not write to the sealed audit chain.
   */
  onRootKey?: RootKeyListener;
}

/** A verifier running inside a provider's own process, with what it holds open. */
export interface EmbeddedVerifier {
  verifier: Verifier;
  /** Stops following changes, flushes usage counts and closes the database and Redis. */
  close(): Promise<void>;
}

/**
 * Builds a {@link Verifier} for a provider's process from keyroll's database URL: cached lookups
 * kept current by the change feed (LISTEN/NOTIFY on PostgreSQL, polling on SQLite), rate limits
 * and quotas, usage metering and the refusal of root keys — the same pipeline as a keyroll node.
 * It never migrates: the keyroll server owns the schema.
 * @example
 * const { verifier, close } = await createVerifier({ databaseUrl: process.env.KEYROLL_DATABASE_URL! });
 * app.get('/orders', { preHandler: keyrollFastify({ verifier, scopes: ['read'] }) }, handler);
 */
export async function createVerifier(options: CreateVerifierOptions): Promise<EmbeddedVerifier> {
  if (!/^(postgres(ql)?:\/\/|sqlite:)/.test(options.databaseUrl)) {
    throw new TypeError('createVerifier: databaseUrl must start with postgres:// or sqlite:');
  }
  // Redis first, so that an unreachable one fails the start before anything else is held open.
  const limiter = await createRateLimiter({ redisUrl: options.redisUrl, redisPrefix: options.redisPrefix });
  const store = createStore({ databaseUrl: options.databaseUrl, dataDir: '.' });
  const pipeline = createVerificationPipeline({
    store,
    clock: options.clock,
    limiter,
    maxKeys: options.maxKeys,
    flushIntervalMs: options.usageFlushMs,
    onRootKey: options.onRootKey,
  });
  const feed = createChangeFeed({
    store,
    databaseUrl: options.databaseUrl,
    listeners: pipeline.listeners,
    clock: options.clock,
  });
  await feed.start();
  const { verifier } = pipeline;
  return {
    verifier,
    close: async () => {
      await feed.close();
      await pipeline.close();
      await limiter.close();
      await store.close();
    },
  };
}
