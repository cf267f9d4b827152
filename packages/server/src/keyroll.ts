import { type Clock, systemClock } from '@keyroll/core';
import { createStore, migrateToLatest, type Store } from '@keyroll/storage';
import {
  CachingKeyLookup,
  createRateLimiter,
  PlanLimitChecker,
  StorageKeyLookup,
  StorageLimitSource,
  UsageMeter,
  Verifier,
} from '@keyroll/verifier';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { ClusterNode, type ClusterOptions } from './cluster/cluster-node.js';
import { readYourWrites } from './cluster/read-your-writes.js';
import type { Config } from './config.js';
import { Gateway } from './gateway/gateway.js';
import { loadGatewayConfig } from './gateway/gateway-config.js';
import { buildApp } from './http/app.js';
import type { AppDeps } from './http/deps.js';
import { AuditService } from './services/audit-service.js';
import { type BootstrapResult, bootstrap } from './services/bootstrap.js';
import { ConsumerService } from './services/consumer-service.js';
import { KeyService } from './services/key-service.js';
import { PlanService } from './services/plan-service.js';
import { UsageService } from './services/usage-service.js';

/** A wired keyroll node: storage, services and the HTTP app, not yet listening. */
export interface Keyroll extends AppDeps {
  app: FastifyInstance;
  /** The root key made on the first start of an empty store; `null` on later starts. */
  bootstrap: BootstrapResult | null;
  /** The reverse proxy, when `KEYROLL_GATEWAY_CONFIG` names routes; not listening yet. */
  gateway: Gateway | null;
  /** Stops serving and closes storage. */
  close(): Promise<void>;
}

/** Options of {@link createKeyroll}. */
export interface CreateKeyrollOptions {
  clock?: Clock;
  logger?: FastifyServerOptions['logger'];
  /** An already open store (tests share one); otherwise opened from the config. */
  store?: Store;
  /** Node id, heartbeat, liveness and change-feed timings (tests tune these). */
  cluster?: ClusterOptions;
}

/** Opens storage, migrates it, runs the first-start bootstrap and builds the app. */
export async function createKeyroll(config: Readonly<Config>, options: CreateKeyrollOptions = {}): Promise<Keyroll> {
  const clock = options.clock ?? systemClock;
  const gatewayConfig = config.gatewayConfig ? loadGatewayConfig(config.gatewayConfig) : null;
  const store = readYourWrites(
    options.store ?? createStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }),
    () => cluster.feed.catchUp(),
  );
  await migrateToLatest(store.db, store.dialect);
  const keys = new KeyService({
    store,
    clock,
    maxActiveKeysPerConsumer: config.maxActiveKeysPerConsumer,
    keyPrefix: config.keyPrefix,
    rootKeyPrefix: config.rootKeyPrefix,
  });
  const usage = new UsageMeter({ store, flushIntervalMs: config.usageFlushMs });
  const limiter = createRateLimiter({ redisUrl: config.redisUrl, redisPrefix: config.redisPrefix });
  const limitSource = new StorageLimitSource({ store });
  const limits = new PlanLimitChecker({ limiter, source: limitSource });
  const lookup = new CachingKeyLookup({ source: new StorageKeyLookup(store) });
  const cluster = new ClusterNode({
    store,
    lookup,
    listeners: [(change) => limitSource.applyChange(change)],
    databaseUrl: config.databaseUrl,
    address: config.publicUrl ?? `http://${config.host}:${config.port}`,
    ...options.cluster,
  });
  const deps: AppDeps = {
    config,
    store,
    clock,
    usage,
    verifier: new Verifier({ lookup, clock, limits, observers: [usage] }),
    consumers: new ConsumerService({ store, clock }),
    keys,
    audit: new AuditService(store),
    cluster,
    plans: new PlanService({ store, clock }),
    usageQueries: new UsageService({ store, clock }),
  };
  const boot = await bootstrap(store, keys, clock, config.dataDir);
  await cluster.start();
  const app = await buildApp(deps, { logger: options.logger });
  const gateway = gatewayConfig && new Gateway({ config: gatewayConfig, verifier: deps.verifier, clock, log: app.log });
  return {
    ...deps,
    app,
    bootstrap: boot,
    gateway,
    close: async () => {
      await gateway?.close();
      await app.close();
      await cluster.close();
      await usage.close();
      await limiter.close();
      if (!options.store) await store.close();
    },
  };
}
