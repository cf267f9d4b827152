import type { Clock } from '@keyroll/core';
import type { Store } from '@keyroll/storage';
import { CachingKeyLookup } from './caching-key-lookup.js';
import type { ChangeListener } from './change-feed.js';
import { ClientSignalMeter } from './client-signal-meter.js';
import { type KeyLookup, StorageKeyLookup } from './key-lookup.js';
import { StorageLimitSource } from './limiter/limit-source.js';
import { PlanLimitChecker } from './limiter/plan-limit-checker.js';
import type { RateLimiter } from './limiter/rate-limiter.js';
import type { RootKeyListener } from './root-key-audit.js';
import { UsageMeter } from './usage-meter.js';
import { Verifier } from './verifier.js';

/** What {@link createVerificationPipeline} needs. */
export interface VerificationPipelineOptions {
  store: Store;
  clock?: Clock | undefined;
  /** Counts rate limits and quotas: memory (one process) or Redis (every node). */
  limiter: RateLimiter;
  /** Most keys cached in memory (default 100,000). */
  maxKeys?: number | undefined;
  /** How often usage counts and client signals are written, in ms (default 1,000; 0: on flush only). */
  flushIntervalMs?: number | undefined;
  /** Wraps the storage lookup behind the cache (a keyroll node counts the cache's misses). */
  wrapSource?: ((source: KeyLookup) => KeyLookup) | undefined;
  /** Told when a root key is presented (it is refused as `NOT_FOUND` either way). */
  onRootKey?: RootKeyListener | undefined;
}

/** A wired verifier and the parts that keep it current and record what it sees. */
export interface VerificationPipeline {
  verifier: Verifier;
  lookup: CachingKeyLookup;
  limitSource: StorageLimitSource;
  /** Usage per key and minute (`usage_minutes`). */
  usage: UsageMeter;
  /** Unknown keys per address and each key's recent clients (`unknown_key_minutes`, `key_clients`). */
  signals: ClientSignalMeter;
  /** Feed every change-log entry to these (a change feed's listeners). */
  listeners: ChangeListener[];
  /** Stops the flush timers and writes what is left. */
  close(): Promise<void>;
}

/**
 * The one verification pipeline, wired the same way in a keyroll node and in a provider's process
 * ({@link createVerifier}): a key cache over storage, limits from plans, consumers and keys, and the
 * observers that record usage and client signals, so that traffic verified by middleware shows up
 * in rotation progress ("who still presents the old key") and unknown-key analytics like the
 * gateway's does.
 */
export function createVerificationPipeline(o: VerificationPipelineOptions): VerificationPipeline {
  const storage = new StorageKeyLookup(o.store);
  const lookup = new CachingKeyLookup({ source: o.wrapSource ? o.wrapSource(storage) : storage, maxKeys: o.maxKeys });
  const limitSource = new StorageLimitSource({ store: o.store });
  const flushIntervalMs = o.flushIntervalMs ?? 1000;
  const usage = new UsageMeter({ store: o.store, flushIntervalMs });
  const signals = new ClientSignalMeter({ store: o.store, flushIntervalMs });
  const verifier = new Verifier({
    lookup,
    ...(o.clock && { clock: o.clock }),
    limits: new PlanLimitChecker({ limiter: o.limiter, source: limitSource }),
    observers: [usage, signals],
    ...(o.onRootKey && { onRootKey: o.onRootKey }),
  });
  return {
    verifier,
    lookup,
    limitSource,
    usage,
    signals,
    listeners: [(change) => lookup.apply(change), (change) => limitSource.applyChange(change)],
    close: async () => {
      await Promise.all([usage.close(), signals.close()]);
    },
  };
}
