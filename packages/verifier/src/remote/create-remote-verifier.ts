import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type Clock, systemClock } from '@keyroll/core';
import type { KeyLookup } from '../key-lookup.js';
import { createRateLimiter } from '../limiter/create-rate-limiter.js';
import { PlanLimitChecker } from '../limiter/plan-limit-checker.js';
import type { VerificationObserver } from '../observer.js';
import type { RootKeyListener } from '../root-key-audit.js';
import { Verifier } from '../verifier.js';
import { DataPlaneLink, type DataPlaneLinkStatus, type LinkLogger, type OnStale } from './data-plane-link.js';
import { EdgeUsageReporter } from './edge-usage-reporter.js';
import { KeyTable } from './key-table.js';
import { TableLimitSource } from './table-limit-source.js';
import { parseUpstreamUrl } from './upstream-url.js';

/** Where an edge verifier finds its control plane, and the bound it holds to. */
export interface CreateRemoteVerifierOptions {
  /** A keyroll node's base URL: `https://…`, or `http://` to localhost or a private address. */
  url: string;
  /** A root key with the scope `dataplane:read`. */
  token: string;
  /** Refuse keys (503 `UNAVAILABLE`) once nothing was heard from the control plane for this long (default 10,000 ms). */
  maxStalenessMs?: number;
  /**
   * `'refuse'` (default) holds the revocation bound; `'serve-cached'` keeps accepting the keys it
   * holds when stale, trading the bound for availability (logged, shown in `status()`).
   */
  onStale?: OnStale;
  /**
   * `redis://…` to share rate limits and quotas with the nodes; counted in this process without it.
   * Like a keyroll node, limits then fail closed: an unreachable Redis rejects `createRemoteVerifier`
   * with a `RedisUnreachableError`, and while Redis is away keys with limits are refused (`UNAVAILABLE`, 503).
   */
  redisUrl?: string | undefined;
  redisPrefix?: string | undefined;
  clock?: Clock;
  /** Told of every verification (e.g. metrics). */
  observers?: VerificationObserver[];
  /** Told when a root key is presented (it is refused as `NOT_FOUND` either way). */
  onRootKey?: RootKeyListener;
  /** Told of the link's connects, losses, reloads and staleness; silent without it. */
  log?: LinkLogger;
  /**
   * How often usage counts and last-use times are sent to the control plane, in ms (default 1,000;
   * 0: only on `flushUsage()` and `close()`), so rotation progress and analytics see edge traffic.
   */
  usageFlushMs?: number;
  /**
   * This edge's name in the control plane's cluster view (`GET /v1/cluster`, kind `edge`), sent on
   * the change stream (default `<host>-<pid>-<random>`).
   */
  edgeId?: string;
  /** The fetch to use (default the global one). */
  fetch?: typeof fetch;
}

/** A verifier fed by a control plane over HTTP(S), with what it holds open. */
export interface RemoteVerifier {
  verifier: Verifier;
  /**
   * Every key the edge holds, by SHA-256: `peek(hash)` answers at once, without I/O (`null` for a
   * hash it does not hold; throws a 503 `UNAVAILABLE` while stale beyond the bound).
   */
  keys: KeyLookup;
  /** How the link to the control plane is doing. */
  status(): DataPlaneLinkStatus;
  /** Sends the usage counted so far now (rejects when the control plane cannot take it; it is kept and sent again). */
  flushUsage(): Promise<void>;
  /** False while stale under `onStale: 'refuse'` (for a readiness probe). */
  ready(): boolean;
  /**
   * With `redisUrl`: `'ok'` when Redis answers, `'unreachable'` while keys with limits are refused
   * for want of it (for a readiness probe); `null` without Redis.
   */
  redis(): Promise<'ok' | 'unreachable' | null>;
  /** Stops following the control plane, tries a last usage flush and closes Redis. */
  close(): Promise<void>;
}

/**
 * Builds a {@link Verifier} that needs no database: it boots from a keyroll node's data-plane
 * snapshot, follows its change stream over Server-Sent Events, and decides exactly as
 * {@link createVerifier} does (same decision, same limits). Deadlines (retirement, expiry) are
 * judged locally from timestamps; revocations arrive within the stated `maxStalenessMs` bound, or
 * keys are refused. Rejects when the snapshot cannot be loaded, or when `redisUrl` is given and
 * Redis cannot be reached.
 * @example
 * const { verifier } = await createRemoteVerifier({ url: 'https://keys.example.com', token: process.env.KEYROLL_EDGE_TOKEN! });
 * app.get('/orders', { preHandler: keyrollFastify({ verifier, scopes: ['read'] }) }, handler);
 */
export async function createRemoteVerifier(options: CreateRemoteVerifierOptions): Promise<RemoteVerifier> {
  const base = parseUpstreamUrl(options.url);
  if (typeof options.token !== 'string' || options.token === '') {
    throw new TypeError('createRemoteVerifier: token (a root key with dataplane:read) is required');
  }
  const maxStalenessMs = options.maxStalenessMs ?? 10_000;
  if (!Number.isSafeInteger(maxStalenessMs) || maxStalenessMs < 1) {
    throw new RangeError('createRemoteVerifier: maxStalenessMs must be a positive integer');
  }
  const onStale = options.onStale ?? 'refuse';
  if (onStale !== 'refuse' && onStale !== 'serve-cached') {
    throw new TypeError("createRemoteVerifier: onStale must be 'refuse' or 'serve-cached'");
  }
  const clock = options.clock ?? systemClock;
  // Redis first, as in createVerifier: an unreachable one fails the start before the link is opened.
  const limiter = await createRateLimiter({ redisUrl: options.redisUrl, redisPrefix: options.redisPrefix });
  const fetchFn = options.fetch ?? fetch;
  let link: DataPlaneLink | undefined;
  const table = new KeyTable((now) => link?.refusing(now) ?? false);
  const limits = new TableLimitSource();
  link = new DataPlaneLink({
    base,
    token: options.token,
    table,
    limits,
    clock,
    maxStalenessMs,
    onStale,
    edgeId: options.edgeId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    log: options.log ?? (() => undefined),
    fetch: fetchFn,
  });
  await link.start().catch(async (e: unknown) => {
    await limiter.close();
    throw e;
  });
  const usage = new EdgeUsageReporter({
    base,
    token: options.token,
    fetch: fetchFn,
    ...(options.usageFlushMs !== undefined && { flushIntervalMs: options.usageFlushMs }),
  });
  const verifier = new Verifier({
    lookup: table,
    clock,
    limits: new PlanLimitChecker({ limiter, source: limits }),
    observers: [usage, ...(options.observers ?? [])],
    ...(options.onRootKey && { onRootKey: options.onRootKey }),
  });
  const started = link;
  return {
    verifier,
    keys: table,
    status: () => started.status(),
    flushUsage: () => usage.flush(),
    ready: () => !started.refusing(),
    redis: async () => (limiter.reachable ? ((await limiter.reachable()) ? 'ok' : 'unreachable') : null),
    close: async () => {
      await started.close();
      await usage.close();
      await limiter.close();
    },
  };
}
