import type { ForwardAuth } from '@keyroll/gateway';
import type { RemoteVerifier } from '@keyroll/verifier';
import { answerClientError, refuseTunnel } from '@keyroll/verifier/internal';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { forwardAuthRoutes } from '../http/forward-auth-routes.js';
import { keyRedactingLogger } from '../http/log-redaction.js';
import { frameworkErrorProblem, installErrorHandling } from '../http/problem.js';
import { fastifyTrustProxy } from '../http/proxy-trust.js';
import { trackRouteMethods } from '../http/route-methods.js';
import { Problem } from '../http/schemas.js';
import { verifyRoutes } from '../keys/verify-routes.js';
import { type EdgeVerificationCounter, renderEdgeMetrics } from './edge-metrics.js';

/** What an edge's HTTP API is built from. */
export interface EdgeAppOptions {
  remote: RemoteVerifier;
  counter: EdgeVerificationCounter;
  /** The forward-auth decision (`/v1/forward-auth`) on the edge's verifier and the gateway's routes. */
  forwardAuth: ForwardAuth;
  /**
   * Reverse proxies in front of the edge's API (`KEYROLL_TRUSTED_PROXIES`, as on a node), whose
   * `X-Forwarded-For` gives `request.ip` — what a root key's IP allow-list is judged on. Default: none.
   */
  trustedProxies?: readonly string[];
  logger?: FastifyServerOptions['logger'];
}

/** The API of `keyroll edge`: the verify API (root keys with `keys:verify`), forward-auth, `/healthz`, `/readyz` and `/metrics`. */
export async function buildEdgeApp(o: EdgeAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: keyRedactingLogger(o.logger),
    bodyLimit: 64 * 1024,
    // Only listed proxies are believed, right-most untrusted X-Forwarded-For hop first, as on a node.
    trustProxy: fastifyTrustProxy(o.trustedProxies ?? []),
    frameworkErrors: frameworkErrorProblem,
    clientErrorHandler: answerClientError,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, verbose: true } },
  });
  app.server.on('connect', refuseTunnel);
  app.decorateRequest('actor', null);
  app.decorateRequest('selfKey', null);
  installErrorHandling(app, trackRouteMethods(app));
  app.addSchema(Problem);
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const s = o.remote.status();
    const link = { connected: s.connected, appliedSeq: s.appliedSeq, stale: s.stale, onStale: s.onStale };
    const redis = (await o.remote.redis()) ?? undefined;
    if (!o.remote.ready()) return reply.code(503).send({ status: 'stale', link, redis });
    // Keys with rate limits or quotas are refused (503) while Redis is away: limits fail closed, as on a node.
    if (redis === 'unreachable') {
      return reply.code(503).send({
        status: 'degraded',
        link,
        redis,
        problems: [
          'Redis (KEYROLL_REDIS_URL) is unreachable: keys with rate limits or quotas are refused until it is back',
        ],
      });
    }
    return { status: 'ready', link, redis };
  });
  app.get('/metrics', async (_req, reply) =>
    reply.type('text/plain; version=0.0.4').send(renderEdgeMetrics(o.remote.status(), o.counter, Date.now())),
  );
  await app.register(async (scope) => verifyRoutes(scope, { verifier: o.remote.verifier }));
  await app.register(async (scope) => forwardAuthRoutes(scope, o.forwardAuth));
  return app;
}
