import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { answerClientError, refuseTunnel } from '@keyroll/verifier/internal';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { AppDeps } from './deps.js';
import { installDocsSecurityHeaders } from './docs-headers.js';
import { keyRedactingLogger } from './log-redaction.js';
import { finishOpenApiDocument } from './openapi-document.js';
import { OPERATION_IDS } from './openapi-operation-ids.js';
import { frameworkErrorProblem, installErrorHandling } from './problem.js';
import { installPropagationWait } from './propagation-wait.js';
import { rejectNulCharacters } from './reject-nul.js';
import { requestValidatorFactory } from './request-validation.js';
import { trackRouteMethods } from './route-methods.js';
import { alertRoutes } from './routes/alerts.js';
import { analyticsRoutes } from './routes/analytics.js';
import { auditRoutes } from './routes/audit.js';
import { clusterRoutes } from './routes/cluster.js';
import { consumerRoutes } from './routes/consumers.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { healthRoutes } from './routes/health.js';
import { keyRoutes } from './routes/keys.js';
import { metricsRoutes } from './routes/metrics.js';
import { planRoutes } from './routes/plans.js';
import { rotationPolicyRoutes } from './routes/rotation-policies.js';
import { RotationSchema, rotationRoutes } from './routes/rotations.js';
import { selfRoutes } from './routes/self.js';
import { selfRotationRoutes } from './routes/self-rotation.js';
import { usageRoutes } from './routes/usage.js';
import { verifyRoutes } from './routes/verify.js';
import { webhookRoutes } from './routes/webhooks.js';
import { ConsumerSchema, DateTime, Duration, KeySchema, Problem } from './schemas.js';

/** Options of {@link buildApp} beyond its dependencies. */
export interface BuildAppOptions {
  logger?: FastifyServerOptions['logger'];
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
    trustProxy: false,
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

  installPropagationWait(app, deps.cluster);
  await app.register(healthRoutes, { store: deps.store, cluster: deps.cluster, redis: deps.redis });
  await app.register(dashboardRoutes);
  await app.register(async (scope) => clusterRoutes(scope, deps));
  await app.register(async (scope) => metricsRoutes(scope, deps));
  await app.register(async (scope) => webhookRoutes(scope, deps));
  await app.register(async (scope) => analyticsRoutes(scope, deps));
  await app.register(async (scope) => alertRoutes(scope, deps));
  for (const routes of [consumerRoutes, keyRoutes, verifyRoutes, selfRoutes, auditRoutes, planRoutes, usageRoutes]) {
    await app.register(async (scope) => routes(scope, deps));
  }
  for (const routes of [rotationRoutes, rotationPolicyRoutes, selfRotationRoutes]) {
    await app.register(async (scope) => routes(scope, deps));
  }
  return app;
}
