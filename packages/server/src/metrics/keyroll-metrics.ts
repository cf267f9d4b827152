import { countOpenDeliveries, countRotationsByState, type Store } from '@keyroll/storage';
import type { VerificationEvent, VerificationObserver } from '@keyroll/verifier';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DeliveryMetrics, DeliveryOutcome } from '../webhooks/delivery-worker.js';

/** What the verifier cache reports: one call per read that missed it and went to storage. */
export interface CacheMetrics {
  cacheMiss(): void;
}

/** What the change-feed follower reports: the delay from a change's commit to this node applying it. */
export interface PropagationMetrics {
  propagationLag(ms: number): void;
}

/** What the alert evaluator reports. */
export interface AlertMetrics {
  alertRaised(rule: string): void;
}

/** What a {@link KeyrollMetrics} needs. */
export interface KeyrollMetricsOptions {
  store: Store;
  /** Label of this node's change-propagation lag. */
  node: string;
}

const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const LAG_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The Prometheus metrics of one keyroll instance, in a registry of its own (not prom-client's
 * global one, so that several instances in one process keep apart). Observes verifications itself;
 * the cache, the change follower, the webhook worker and the alert evaluator report through the
 * small interfaces it implements.
 */
export class KeyrollMetrics
  implements VerificationObserver, CacheMetrics, PropagationMetrics, DeliveryMetrics, AlertMetrics
{
  /** The registry `GET /metrics` serves. */
  readonly registry = new Registry();
  readonly #node: string;
  readonly #verifications: Counter<'code'>;
  readonly #latency: Histogram;
  readonly #rateLimited: Counter<'code'>;
  readonly #lookups: Counter;
  readonly #misses: Counter;
  readonly #lag: Histogram<'node'>;
  readonly #deliveries: Counter<'outcome'>;
  readonly #alerts: Counter<'rule'>;
  #lookupCount = 0;
  #missCount = 0;

  constructor(options: KeyrollMetricsOptions) {
    const registers = [this.registry];
    const db = options.store.db;
    this.#node = options.node;
    this.#verifications = new Counter({
      name: 'keyroll_verifications_total',
      help: 'Key verifications by outcome code',
      labelNames: ['code'],
      registers,
    });
    this.#latency = new Histogram({
      name: 'keyroll_verification_duration_seconds',
      help: 'Time spent deciding a verification',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#rateLimited = new Counter({
      name: 'keyroll_rate_limit_rejections_total',
      help: 'Verifications rejected by a rate limit or quota',
      labelNames: ['code'],
      registers,
    });
    this.#lookups = new Counter({
      name: 'keyroll_key_lookups_total',
      help: 'Key lookups by the verifier (every verification of a well-formed key)',
      registers,
    });
    this.#misses = new Counter({
      name: 'keyroll_cache_misses_total',
      help: 'Key lookups that missed the cache and read storage',
      registers,
    });
    const self = this;
    new Gauge({
      name: 'keyroll_cache_hit_ratio',
      help: 'Share of key lookups answered from the cache since start',
      registers,
      collect() {
        const lookups = Math.max(self.#lookupCount, self.#missCount);
        this.set(lookups === 0 ? 0 : 1 - self.#missCount / lookups);
      },
    });
    this.#lag = new Histogram({
      name: 'keyroll_change_propagation_lag_seconds',
      help: 'Delay from a change being committed to this node applying it',
      labelNames: ['node'],
      buckets: LAG_BUCKETS,
      registers,
    });
    this.#deliveries = new Counter({
      name: 'keyroll_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome (delivered, failed = will retry, dead)',
      labelNames: ['outcome'],
      registers,
    });
    new Gauge({
      name: 'keyroll_webhook_deliveries_pending',
      help: 'Webhook deliveries waiting for a (first or further) attempt',
      registers,
      async collect() {
        this.set(await countOpenDeliveries(db));
      },
    });
    this.#alerts = new Counter({
      name: 'keyroll_alerts_raised_total',
      help: 'Alerts raised by rule',
      labelNames: ['rule'],
      registers,
    });
    new Gauge({
      name: 'keyroll_rotations',
      help: 'Rotations by state',
      labelNames: ['state'],
      registers,
      async collect() {
        this.reset();
        for (const r of await countRotationsByState(db)) this.set({ state: r.state }, r.count);
      },
    });
  }

  observe(e: VerificationEvent): void {
    this.#verifications.inc({ code: e.code });
    this.#latency.observe(e.durationMs / 1000);
    if (e.code !== 'MALFORMED') {
      this.#lookupCount++;
      this.#lookups.inc();
    }
    if (e.code === 'RATE_LIMITED' || e.code === 'QUOTA_EXCEEDED') this.#rateLimited.inc({ code: e.code });
  }

  cacheMiss(): void {
    this.#missCount++;
    this.#misses.inc();
  }

  propagationLag(ms: number): void {
    this.#lag.observe({ node: this.#node }, Math.max(0, ms) / 1000);
  }

  delivery(outcome: DeliveryOutcome): void {
    this.#deliveries.inc({ outcome });
  }

  alertRaised(rule: string): void {
    this.#alerts.inc({ rule });
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
