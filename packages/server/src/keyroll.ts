import { hostname } from 'node:os';
import { type Clock, systemClock } from '@keyroll/core';
import { ForwardAuth, Gateway, loadGatewayConfig } from '@keyroll/gateway';
import { createStore, migrateToLatest, type Store } from '@keyroll/storage';
import {
  connectRedisRateLimiter,
  createVerificationPipeline,
  MemoryRateLimiter,
  RootKeyAudit,
} from '@keyroll/verifier/internal';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { buildApp } from './app.js';
import type { AppDeps } from './app-deps.js';
import { sealAudit } from './audit/audit-seal.js';
import { AuditService } from './audit/audit-service.js';
import { ClusterNode, type ClusterOptions } from './cluster/cluster-node.js';
import { readYourWrites } from './cluster/read-your-writes.js';
import { RetentionJob } from './cluster/retention.js';
import type { Config } from './config.js';
import { ConsumerService } from './consumers/consumer-service.js';
import { applyListenerLimits } from './http/listener-limits.js';
import { proxyTrust } from './http/proxy-trust.js';
import { type BootstrapResult, bootstrap } from './keys/bootstrap.js';
import { KeyService } from './keys/key-service.js';
import { GithubPublicKeys } from './leaks/github-public-keys.js';
import { LeakPolicyService } from './leaks/leak-policies.js';
import { LeakService } from './leaks/leak-service.js';
import { KeyrollMetrics } from './metrics/keyroll-metrics.js';
import { MissCountingLookup } from './metrics/miss-counting-lookup.js';
import { createMonitoring } from './monitoring/monitoring.js';
import { PlanService } from './plans/plan-service.js';
import { RotationEngine } from './rotations/rotation-engine.js';
import { RotationPolicyService } from './rotations/rotation-policies.js';
import { RotationScheduler } from './rotations/rotation-scheduler.js';
import { SelfServiceLimits } from './rotations/self-service-limits.js';
import { BackgroundLoop } from './shared/background-loop.js';

/** A wired keyroll node: storage, services and the HTTP app, not yet listening. */
export interface Keyroll extends AppDeps {
  app: FastifyInstance;
  /** The root key made on the first start of an empty store; `null` on later starts. */
  bootstrap: BootstrapResult | null;
  /** The reverse proxy, when `KEYROLL_GATEWAY_CONFIG` names routes; not listening yet. */
  gateway: Gateway | null;
  /** Prunes old rows; on a timer with `background`, otherwise only when ticked. */
  retention: RetentionJob;
  /** Stops serving and closes storage. */
  close(): Promise<void>;
}

/** Options of {@link createKeyroll}. */
export interface CreateKeyrollOptions {
  clock?: Clock;
  logger?: FastifyServerOptions['logger'];
  /** An already open store (tests share one); otherwise opened from the config. */
  store?: Store;
  /** Runs the background workers (webhook fan-out and delivery, alert evaluation) on timers; `serve` sets it. */
  background?: boolean;
  /** Stamps webhook signatures (receivers check it against their wall clock); default the system clock. */
  signingClock?: Clock;
  /** Node id, heartbeat, liveness and change-feed timings (tests tune these). */
  cluster?: ClusterOptions;
  /** Runs the rotation scheduler on its timer (default true; `KEYROLL_SCHEDULER_INTERVAL_MS=0` also stops it). */
  scheduler?: boolean;
  /** Audit events hashed per turn of the event loop by a chain check (default 500; tests make it small). */
  auditSliceSize?: number;
}

/** Opens storage, migrates it, runs the first-start bootstrap and builds the app. */
export async function createKeyroll(config: Readonly<Config>, options: CreateKeyrollOptions = {}): Promise<Keyroll> {
  const clock = options.clock ?? systemClock;
  const gatewayConfig = config.gatewayConfig
    ? loadGatewayConfig(config.gatewayConfig, config.gatewayTrustedProxies)
    : null;
  // Forward-auth reads the client address from the gateway's proxies, routes or not; the API from
  // KEYROLL_TRUSTED_PROXIES (its request.ip, judged by key IP allow-lists), unset: the same list.
  const proxies = proxyTrust(config, gatewayConfig);
  // Before anything is opened: a node told to share limits through Redis never starts without it.
  const redis = config.redisUrl
    ? await connectRedisRateLimiter({ url: config.redisUrl, prefix: config.redisPrefix })
    : null;
  const opened = options.store ?? createStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  await migrateToLatest(opened.db, opened.dialect);
  const audit = await sealAudit(opened, config, clock).catch(async (e: unknown) => {
    if (!options.store) await opened.close();
    throw e;
  });
  const store = readYourWrites(audit.store, () => cluster.feed.catchUp());
  const keys = new KeyService({
    store,
    clock,
    maxActiveKeysPerConsumer: config.maxActiveKeysPerConsumer,
    keyPrefix: config.keyPrefix,
    rootKeyPrefix: config.rootKeyPrefix,
  });
  const limiter = redis?.limiter ?? new MemoryRateLimiter();
  const rootKeyAudit = new RootKeyAudit({
    store,
    onError: (err) => app.log.error({ err }, 'root key presentation could not be audited'),
  });
  const metrics = new KeyrollMetrics({ store, node: hostname() });
  const pipeline = createVerificationPipeline({
    store,
    clock,
    limiter,
    maxKeys: config.keyCacheSize,
    flushIntervalMs: config.usageFlushMs,
    wrapSource: (source) => new MissCountingLookup(source, metrics),
    onRootKey: rootKeyAudit.listener,
  });
  const { usage, verifier } = pipeline;
  const monitoring = createMonitoring({
    config,
    store,
    clock,
    usage,
    signals: pipeline.signals,
    metrics,
    signingClock: options.signingClock,
    onError: (err, worker) => app.log.error({ err, worker }, 'background step failed'),
  });
  const rotationPolicies = new RotationPolicyService({ store, clock, schedulerIntervalMs: config.schedulerIntervalMs });
  const rotations = new RotationEngine({
    store,
    clock,
    keys,
    policies: rotationPolicies,
    selfRotateMaxGraceMs: config.selfRotateMaxGraceMs,
    maxSelfRotations: config.maxActiveKeysPerConsumer,
    selfRotationsPerDay: config.selfRotationsPerDay,
  });
  const scheduler = new RotationScheduler({
    store,
    clock,
    engine: rotations,
    policies: rotationPolicies,
    intervalMs: config.schedulerIntervalMs,
    onError: (err) => app.log.error({ err }, 'rotation scheduler tick failed'),
  });
  const cluster = new ClusterNode({
    store,
    lookup: pipeline.lookup,
    listeners: [...pipeline.listeners, (change) => monitoring.metrics.propagationLag(clock.now() - change.at)],
    databaseUrl: config.databaseUrl,
    address: config.publicUrl ?? `http://${config.host}:${config.port}`,
    ...(config.nodeId !== undefined && { nodeId: config.nodeId }),
    ...options.cluster,
  });
  const leakPolicies = new LeakPolicyService({ store, clock });
  const leaks = new LeakService({
    store,
    clock,
    keys,
    rotations,
    policies: leakPolicies,
    signals: pipeline.signals,
    prefixes: [config.keyPrefix, config.rootKeyPrefix],
  });
  const deps: AppDeps = {
    config,
    store,
    clock,
    usage,
    verifier,
    consumers: new ConsumerService({ store, clock }),
    keys,
    audit: new AuditService({
      store,
      clock,
      key: audit.key,
      headSeq: audit.headSeq,
      ...(options.auditSliceSize !== undefined && { sliceSize: options.auditSliceSize }),
    }),
    rotations,
    rotationPolicies,
    scheduler,
    monitoring,
    cluster,
    plans: new PlanService({ store, clock }),
    ...(redis !== null && { redis }),
    forwardAuth: new ForwardAuth({
      verifier,
      routes: gatewayConfig?.routes ?? null,
      trustedProxies: proxies.forwardAuth,
      clock,
    }),
    selfService: new SelfServiceLimits({ limiter, clock, perMinute: config.selfServiceRateLimit }),
    leaks,
    leakPolicies,
    githubKeys: new GithubPublicKeys({ url: config.githubKeysUrl, clock }),
  };
  const retention = new RetentionJob({
    store,
    clock,
    periods: config.retention,
    liveAppliedSeqs: () => cluster.livePositions(),
    nodeId: cluster.id,
    onError: (err) => app.log.error({ err }, 'retention tick failed'),
    onPruned: (report) => app.log.info({ retention: report }, 'retention deleted old rows'),
  });
  // Revokes rolled-over leaked keys at the end of their grace and sends `incident.updated`.
  const leakLoop = new BackgroundLoop([['leaks', leaks]], {
    intervalMs: 1_000,
    onError: (err, worker) => app.log.error({ err, worker }, 'background step failed'),
  });
  const boot = await bootstrap(store, keys, clock, config.dataDir);
  await cluster.start();
  deps.monitoring.observe(deps.verifier);
  const app = await buildApp(deps, { logger: options.logger, trustedProxies: proxies.api });
  applyListenerLimits(app.server, config.listener);
  if (audit.sealedNow) {
    app.log.error(
      { seq: audit.headSeq },
      'KEYROLL_AUDIT_ACCEPT_BROKEN_CHAIN: the audit chain had no sealed head; sealed its current end as accepted ' +
        '(unset the variable now; see docs/audit.md)',
    );
  }
  if (options.scheduler ?? true) scheduler.start();
  if (options.background) {
    deps.monitoring.start();
    retention.start();
    leakLoop.start();
  }
  const gateway = gatewayConfig && new Gateway({ config: gatewayConfig, verifier: deps.verifier, clock, log: app.log });
  if (gateway) applyListenerLimits(gateway.server, config.listener);
  return {
    ...deps,
    app,
    bootstrap: boot,
    gateway,
    retention,
    close: async () => {
      await gateway?.close();
      await retention.stop();
      await leakLoop.stop();
      await scheduler.stop();
      await app.close();
      await deps.monitoring.close();
      await cluster.close();
      await pipeline.close();
      await rootKeyAudit.settled();
      await limiter.close();
      if (!options.store) await store.close();
    },
  };
}
