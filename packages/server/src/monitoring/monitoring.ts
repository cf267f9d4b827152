import type { Clock } from '@keyroll/core';
import type { Store } from '@keyroll/storage';
import type { ClientSignalMeter, UsageMeter, Verifier } from '@keyroll/verifier/internal';
import { AlertEvaluator } from '../alerts/alert-evaluator.js';
import { AlertService } from '../alerts/alert-service.js';
import { ExpiryNotifier } from '../alerts/expiry-notifier.js';
import { AnalyticsService } from '../analytics/analytics-service.js';
import { RetiredKeySightings } from '../analytics/retired-key-sightings.js';
import { RotationStartTraffic } from '../analytics/rotation-start-traffic.js';
import type { Config } from '../config.js';
import type { KeyrollMetrics } from '../metrics/keyroll-metrics.js';
import { BackgroundLoop } from '../shared/background-loop.js';
import { DeliveryWorker } from '../webhooks/delivery-worker.js';
import { WebhookDispatcher } from '../webhooks/webhook-dispatcher.js';
import { WebhookService } from '../webhooks/webhook-service.js';

/** What {@link createMonitoring} needs. */
export interface MonitoringOptions {
  config: Readonly<Config>;
  store: Store;
  clock: Clock;
  usage: UsageMeter;
  signals: ClientSignalMeter;
  /** The node's metrics (made first: the verification pipeline counts cache misses in them). */
  metrics: KeyrollMetrics;
  /** Stamps webhook signatures; the system clock unless a test says otherwise. */
  signingClock?: Clock | undefined;
  /** Told of a failed background step. */
  onError: (error: unknown, worker: string) => void;
  /**
   * Real time between two rounds of the background loop, in ms (default 1,000): the longest a use
   * of a retired or revoked key waits before it is alerted and its webhook queued.
   */
  intervalMs?: number | undefined;
}

/** Analytics, alerts, webhooks and metrics of one keyroll instance, and the loop that drives them. */
export interface Monitoring {
  metrics: KeyrollMetrics;
  signals: ClientSignalMeter;
  /** Uses of retired and revoked keys waiting for the next alert round. */
  sightings: RetiredKeySightings;
  /** Reports the traffic of a rotation's first minute from before its start, so that progress leaves it out. */
  rotationStarts: RotationStartTraffic;
  analytics: AnalyticsService;
  alerts: AlertService;
  evaluator: AlertEvaluator;
  expiry: ExpiryNotifier;
  webhooks: WebhookService;
  dispatcher: WebhookDispatcher;
  deliveries: DeliveryWorker;
  /** The background loop: stopped until {@link Monitoring.start}. */
  loop: BackgroundLoop;
  /** Registers the node's own observers (metrics, retired-key sightings, rotation starts) with a verifier. */
  observe(verifier: Verifier): void;
  /** Runs every worker once, in order (evaluate alerts, fan out events, deliver); for tests. */
  tick(): Promise<void>;
  start(): void;
  close(): Promise<void>;
}

/** Builds the monitoring parts and registers their verification observers. */
export function createMonitoring(o: MonitoringOptions): Monitoring {
  const { config, store, clock } = o;
  const { metrics, signals } = o;
  const sightings = new RetiredKeySightings();
  const rotationStarts = new RotationStartTraffic({ store, clock, keepMs: config.retention.usageMs });
  const dispatcher = new WebhookDispatcher({ store, clock });
  const deliveries = new DeliveryWorker({
    store,
    clock,
    signingClock: o.signingClock,
    maxAttempts: config.webhookMaxAttempts,
    timeoutMs: config.webhookTimeoutMs,
    retryBaseMs: config.webhookRetryBaseMs,
    allowPrivate: config.webhookAllowPrivate,
    metrics,
  });
  const evaluator = new AlertEvaluator({
    store,
    clock,
    thresholds: config.alerts,
    usage: o.usage,
    signals,
    settleMs: 2 * config.usageFlushMs + 1000,
    sightings,
    metrics,
  });
  const expiry = new ExpiryNotifier({ store, clock, noticeMs: config.alerts.keyExpiringNoticeMs });
  const loop = new BackgroundLoop(
    [
      ['rotation-start-traffic', rotationStarts],
      ['alert-evaluator', evaluator],
      ['expiry-notifier', expiry],
      ['webhook-dispatcher', dispatcher],
      ['webhook-deliveries', deliveries],
    ],
    { intervalMs: o.intervalMs ?? 1000, onError: o.onError },
  );
  return {
    metrics,
    signals,
    sightings,
    rotationStarts,
    analytics: new AnalyticsService({ store, clock, usage: o.usage, signals }),
    alerts: new AlertService({ store, clock }),
    evaluator,
    expiry,
    webhooks: new WebhookService({ store, clock, allowPrivate: config.webhookAllowPrivate }),
    dispatcher,
    deliveries,
    loop,
    observe: (verifier) => {
      verifier.addObserver(metrics);
      verifier.addObserver(sightings);
      verifier.addObserver(rotationStarts);
    },
    tick: () => loop.runOnce(),
    start: () => loop.start(),
    close: async () => {
      await loop.stop();
      await deliveries.close();
    },
  };
}
