import { type Clock, systemClock } from '@keyroll/core';
import {
  type ClaimedDelivery,
  claimDueDeliveries,
  hasDueDelivery,
  recordDeliveryAttempt,
  type Store,
} from '@keyroll/storage';
import { Agent, request } from 'undici';
import { retryDelay } from './retry-delay.js';
import { guardedLookup, isPrivateLiteral } from './ssrf-guard.js';
import { signWebhook } from './webhook-signer.js';

/** Outcome of one webhook delivery attempt. */
export type DeliveryOutcome = 'delivered' | 'failed' | 'dead';

/** What the webhook worker reports (implemented by the node's metrics). */
export interface DeliveryMetrics {
  delivery(outcome: DeliveryOutcome): void;
}

/** What a {@link DeliveryWorker} needs. */
export interface DeliveryWorkerOptions {
  store: Store;
  /** Schedules attempts and retries. */
  clock: Clock;
  /**
   * Stamps `webhook-timestamp`. Receivers compare it with their own wall clock to refuse replays,
   * so it is the system clock unless a test says otherwise.
   */
  signingClock?: Clock;
  maxAttempts: number;
  timeoutMs: number;
  retryBaseMs: number;
  allowPrivate: boolean;
  metrics?: DeliveryMetrics;
  /** Deliveries attempted per call of {@link DeliveryWorker.tick} (default 50). */
  batchSize?: number;
  /** Jitter source (default Math.random). */
  random?: () => number;
}

/** Longest error text kept with a delivery. */
const MAX_ERROR = 300;

/**
 * Sends due webhook deliveries: signed per Standard Webhooks, redirects not followed, bounded
 * time-outs, private targets refused at connect time. Failures are retried with exponential backoff
 * and jitter until `maxAttempts`, then the delivery is dead (redeliverable by hand). Deliveries of one
 * webhook are attempted one after another in event order; a failing one does not hold back the rest.
 */
export class DeliveryWorker {
  readonly #o: DeliveryWorkerOptions;
  readonly #agent: Agent;
  readonly #signingClock: Clock;

  constructor(options: DeliveryWorkerOptions) {
    this.#o = options;
    this.#signingClock = options.signingClock ?? systemClock;
    this.#agent = new Agent({
      connect: {
        timeout: options.timeoutMs,
        ...(options.allowPrivate ? {} : { lookup: guardedLookup }),
      },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: 4_000,
    });
  }

  /** Attempts every due delivery (up to the batch size); returns how many were attempted. */
  async tick(): Promise<number> {
    const claimed = await this.#claim();
    const byHook = new Map<string, ClaimedDelivery[]>();
    for (const d of claimed) byHook.set(d.webhookId, [...(byHook.get(d.webhookId) ?? []), d]);
    await Promise.all(
      [...byHook.values()].map(async (list) => {
        for (const d of list) await this.#attempt(d);
      }),
    );
    return claimed.length;
  }

  /** Closes the HTTP connection pool. */
  close(): Promise<void> {
    return this.#agent.close();
  }

  /** Takes due deliveries for this node by pushing their next attempt past a lease, so other nodes skip them. */
  async #claim(): Promise<ClaimedDelivery[]> {
    const now = this.#o.clock.now();
    const lease = now + this.#o.timeoutMs + 5_000;
    // A read first, so that the write lock is taken only when something is due.
    if (!(await hasDueDelivery(this.#o.store.db, now))) return [];
    return this.#o.store.mutate((tx) => claimDueDeliveries(tx.db, now, lease, this.#o.batchSize ?? 50));
  }

  async #attempt(d: ClaimedDelivery): Promise<void> {
    const now = this.#o.clock.now();
    const secrets = [d.secret];
    if (d.previousSecret && d.previousSecretUntil !== null && d.previousSecretUntil > now) {
      secrets.push(d.previousSecret);
    }
    const result = await this.#send(d, secrets);
    const attempts = d.attempts + 1;
    const outcome: DeliveryOutcome = result.ok ? 'delivered' : attempts >= this.#o.maxAttempts ? 'dead' : 'failed';
    const done = this.#o.clock.now();
    await this.#o.store.mutate((tx) =>
      recordDeliveryAttempt(tx.db, d.id, {
        status: outcome === 'failed' ? 'retrying' : outcome,
        attempts,
        lastAttemptAt: done,
        responseStatus: result.status,
        lastError: result.error,
        deliveredAt: result.ok ? done : null,
        nextAttemptAt: outcome === 'failed' ? done + retryDelay(attempts, this.#o.retryBaseMs, this.#o.random) : null,
      }),
    );
    this.#o.metrics?.delivery(outcome);
  }

  async #send(
    d: ClaimedDelivery,
    secrets: string[],
  ): Promise<{ ok: boolean; status: number | null; error: string | null }> {
    try {
      const url = new URL(d.url);
      if (!this.#o.allowPrivate && isPrivateLiteral(url)) {
        return { ok: false, status: null, error: 'target address is private' };
      }
      const headers = signWebhook(secrets, d.id, new Date(this.#signingClock.now()), d.body);
      const res = await request(url, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: { 'content-type': 'application/json', 'user-agent': 'keyroll-webhooks/1', ...headers },
        body: d.body,
        signal: AbortSignal.timeout(this.#o.timeoutMs),
      });
      await res.body.dump();
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      return { ok, status: res.statusCode, error: ok ? null : `HTTP ${res.statusCode}` };
    } catch (e) {
      const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      return { ok: false, status: null, error: message.slice(0, MAX_ERROR) };
    }
  }
}
