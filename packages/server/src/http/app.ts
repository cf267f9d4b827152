import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { AppDeps } from './deps.js';
import { installDocsSecurityHeaders } from './docs-headers.js';
import { keyRedactingLogger } from './log-redaction.js';
import { installErrorHandling } from './problem.js';
import { installPropagationWait } from './propagation-wait.js';
import { rejectNulCharacters } from './reject-nul.js';
import { requestValidatorFactory } from './request-validation.js';
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
import { rotationRoutes } from './routes/rotations.js';
import { selfRoutes } from './routes/self.js';
import { selfRotationRoutes } from './routes/self-rotation.js';
import { usageRoutes } from './routes/usage.js';
import { verifyRoutes } from './routes/verify.js';
import { webhookRoutes } from './routes/webhooks.js';
import { ConsumerSchema, KeySchema, Problem } from './schemas.js';

/** Options of {@link buildApp} beyond its dependencies. */
export interface BuildAppOptions {
  logger?: FastifyServerOptions['logger'];
}

/**
 * Builds the keyroll HTTP API (admin, verification, self-service, operations, docs) without
 * listening, so that tests can drive it in-process with `app.inject`.
 */
export async function buildApp(deps: AppDeps, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: keyRedactingLogger(options.logger),
    bodyLimit: 64 * 1024,
    trustProxy: false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    schemaController: { compilersFactory: { buildValidator: requestValidatorFactory() } },
  });
  app.decorateRequest('actor', null);
  app.decorateRequest('selfKey', null);
  installErrorHandling(app);
  rejectNulCharacters(app);
  installDocsSecurityHeaders(app);
  app.addSchema(Problem);
  app.addSchema(KeySchema);
  app.addSchema(ConsumerSchema);

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
    refResolver: {
      buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  installPropagationWait(app, deps.cluster);
  await app.register(healthRoutes, { store: deps.store, cluster: deps.cluster });
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
