import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { answerClientError, refuseTunnel } from '@keyroll/verifier/internal';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { alertRoutes } from './alerts/alert-routes.js';
import { analyticsRoutes } from './analytics/analytics-routes.js';
import { usageExportRoutes } from './analytics/usage-export-routes.js';
import { usageRoutes } from './analytics/usage-routes.js';
import type { AppDeps } from './app-deps.js';
import { auditRoutes } from './audit/audit-routes.js';
import { clusterRoutes } from './cluster/cluster-routes.js';
import { healthRoutes } from './cluster/health-routes.js';
import { installPropagationWait } from './cluster/propagation-wait.js';
import { consumerRoutes } from './consumers/consumer-routes.js';
import { ConsumerSchema } from './consumers/consumer-schemas.js';
import { dataPlaneRoutes } from './data-plane/data-plane-routes.js';
import { dashboardRoutes } from './http/dashboard-routes.js';
import { installDocsSecurityHeaders } from './http/docs-headers.js';
import { forwardAuthRoutes } from './http/forward-auth-routes.js';
import { keyRedactingLogger } from './http/log-redaction.js';
import { finishOpenApiDocument } from './http/openapi-document.js';
import { OPERATION_IDS } from './http/openapi-operation-ids.js';
import { postmanRoutes } from './http/postman-routes.js';
import { frameworkErrorProblem, installErrorHandling } from './http/problem.js';
import { fastifyTrustProxy } from './http/proxy-trust.js';
import { rejectNulCharacters } from './http/reject-nul.js';
import { requestValidatorFactory } from './http/request-validation.js';
import { trackRouteMethods } from './http/route-methods.js';
import { DateTime, Duration, Problem } from './http/schemas.js';
import { keyRoutes } from './keys/key-routes.js';
import { KeySchema } from './keys/key-schemas.js';
import { verifyRoutes } from './keys/verify-routes.js';
import { leakRoutes } from './leaks/leak-routes.js';
import { metricsRoutes } from './metrics/metrics-routes.js';
import { planRoutes } from './plans/plan-routes.js';
import { rotationPolicyRoutes } from './rotations/rotation-policy-routes.js';
import { RotationSchema, rotationRoutes } from './rotations/rotation-routes.js';
import { selfRotationRoutes } from './self/self-rotation-routes.js';
import { selfRoutes } from './self/self-routes.js';
import { webhookRoutes } from './webhooks/webhook-routes.js';

/** Options of {@link buildApp} beyond its dependencies. */
export interface BuildAppOptions {
  logger?: FastifyServerOptions['logger'];
  /**
   * Addresses / CIDR ranges of reverse proxies in front of the API (`KEYROLL_TRUSTED_PROXIES`),
   * whose `X-Forwarded-For` gives `request.ip` — what key IP allow-lists are judged on. Never "any".
   */
  trustedProxies?: readonly string[];
}

/** Schemas the OpenAPI document defines once, as components, and references wherever they appear. */
const SHARED_SCHEMAS = ['Problem', 'Key', 'Consumer', 'Rotation', 'Duration', 'DateTime', 'Webhook', 'Alert', 'Plan'];

/**
 * Builds the keyroll HTTP API (admin, verification, self-service, operations, docs) without
 * listening, so that tests can drive it in-process with `app.inject`.
 */
export async function buildApp(deps: AppDeps, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: keyRedactingLogger(options.logger),
    bodyLimit: 64 * 1024,
    // Only listed proxies are believed, right-most untrusted X-Forwarded-For hop first, as at the gateway.
    trustProxy: fastifyTrustProxy(options.trustedProxies ?? []),
    // Ids are at most 64 characters: a longer one is a 400 naming the parameter, not the router's 414.
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors: frameworkErrorProblem,
    clientErrorHandler: answerClientError,
    // `verbose` lets a validation error name what a union accepts (its description).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, verbose: true } },
    schemaController: { compilersFactory: { buildValidator: requestValidatorFactory() } },
  });
  // What Node would otherwise answer itself, bare or not at all, is answered as the gateway does:
  // CONNECT is a 405 problem; an expectation other than 100-continue is ignored (RFC 9110 §10.1.1
  // allows, not requires, a 417) and the request routed as any other.
  app.server.on('connect', refuseTunnel);
  app.server.on('checkExpectation', (req, res) => app.routing(req, res));
  const routeMethods = trackRouteMethods(app);
  app.decorateRequest('actor', null);
  app.decorateRequest('selfKey', null);
  installErrorHandling(app, routeMethods);
  rejectNulCharacters(app);
  installDocsSecurityHeaders(app);
  app.addSchema(Problem);
  app.addSchema(KeySchema);
  app.addSchema(ConsumerSchema);
  app.addSchema({ ...RotationSchema, $id: 'Rotation' });
  app.addSchema({ ...Duration, $id: 'Duration' });
  app.addSchema({ ...DateTime, $id: 'DateTime' });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'keyroll', version: '1', description: 'API keys with zero-downtime rotation.' },
      components: {
        securitySchemes: {
          rootKey: { type: 'http', scheme: 'bearer' },
          consumerKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        },
      },
    },
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      finishOpenApiDocument(document.openapiObject, { operationIds: OPERATION_IDS, shared: SHARED_SCHEMAS });
      return document.openapiObject;
    },
    refResolver: {
      buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(postmanRoutes);

  installPropagationWait(app, deps.cluster);
  await app.register(healthRoutes, { store: deps.store, cluster: deps.cluster, redis: deps.redis });
  await app.register(dashboardRoutes);
  await app.register(async (scope) => clusterRoutes(scope, deps));
  await app.register(async (scope) => dataPlaneRoutes(scope, deps));
  await app.register(async (scope) => metricsRoutes(scope, deps));
  await app.register(async (scope) => webhookRoutes(scope, deps));
  await app.register(async (scope) => analyticsRoutes(scope, deps));
  await app.register(async (scope) => alertRoutes(scope, deps));
  await app.register(async (scope) => forwardAuthRoutes(scope, deps.forwardAuth));
  for (const routes of [consumerRoutes, keyRoutes, verifyRoutes, selfRoutes, auditRoutes, planRoutes, usageRoutes]) {
    await app.register(async (scope) => routes(scope, deps));
  }
  for (const routes of [rotationRoutes, rotationPolicyRoutes, selfRotationRoutes]) {
    await app.register(async (scope) => routes(scope, deps));
  }
  await app.register(async (scope) => leakRoutes(scope, deps));
  await app.register(async (scope) => usageExportRoutes(scope, deps));
  return app;
}
