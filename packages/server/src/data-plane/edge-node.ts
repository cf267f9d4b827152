import type { Clock } from '@keyroll/core';
import { ForwardAuth, Gateway, loadGatewayConfig } from '@keyroll/gateway';
import { createRemoteVerifier, type RemoteVerifier } from '@keyroll/verifier';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { proxyTrust } from '../http/proxy-trust.js';
import { buildEdgeApp } from './edge-app.js';
import type { EdgeConfig } from './edge-config.js';
import { EdgeVerificationCounter } from './edge-metrics.js';

/** A running edge verifier: its API, its gateway (when routes are configured) and its link. */
export interface EdgeNode {
  app: FastifyInstance;
  gateway: Gateway | null;
  remote: RemoteVerifier;
  close(): Promise<void>;
}

/** Options of {@link startEdge} beyond its configuration. */
export interface StartEdgeOptions {
  logger?: FastifyServerOptions['logger'];
  clock?: Clock;
  fetch?: typeof fetch;
}

/**
 * Starts an edge verifier without listening: loads the control plane's snapshot (rejects when it
 * cannot), follows its changes, and builds the verify API and the gateway on the remote verifier.
 */
export async function startEdge(config: Readonly<EdgeConfig>, options: StartEdgeOptions = {}): Promise<EdgeNode> {
  // Read before connecting: a bad route file or proxy list fails the start, not the first request.
  const gatewayConfig = config.gatewayConfig
    ? loadGatewayConfig(config.gatewayConfig, config.gatewayTrustedProxies)
    : null;
  // As on a node: forward-auth believes the gateway's proxies, the API KEYROLL_TRUSTED_PROXIES.
  const proxies = proxyTrust(config, gatewayConfig);
  const counter = new EdgeVerificationCounter();
  let app: FastifyInstance | undefined;
  const remote = await createRemoteVerifier({
    url: config.upstream,
    token: config.token,
    ...(config.edgeId && { edgeId: config.edgeId }),
    maxStalenessMs: config.maxStalenessMs,
    onStale: config.onStale,
    redisUrl: config.redisUrl,
    redisPrefix: config.redisPrefix,
    usageFlushMs: config.usageFlushMs,
    observers: [counter],
    ...(options.clock && { clock: options.clock }),
    ...(options.fetch && { fetch: options.fetch }),
    log: ({ level, msg, ...fields }) => app?.log[level](fields, msg),
  });
  const forwardAuth = new ForwardAuth({
    verifier: remote.verifier,
    routes: gatewayConfig?.routes ?? null,
    trustedProxies: proxies.forwardAuth,
    ...(options.clock && { clock: options.clock }),
  });
  app = await buildEdgeApp({ remote, counter, forwardAuth, trustedProxies: proxies.api, logger: options.logger });
  const gateway =
    gatewayConfig &&
    new Gateway({
      config: gatewayConfig,
      verifier: remote.verifier,
      ...(options.clock && { clock: options.clock }),
      log: app.log,
    });
  const started = app;
  return {
    app: started,
    gateway,
    remote,
    close: async () => {
      await gateway?.close();
      await started.close();
      await remote.close();
    },
  };
}
