import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { actorOf, requireRoot } from '../http/auth.js';
import { adminErrors, DateTime, IdParams, Metadata, Nullable, PageOf, PageQuery } from '../http/schemas.js';
import { ALERT_RULES } from './alert-service.js';

const AlertSchema = Type.Object(
  {
    id: Type.String(),
    rule: Type.String({ description: ALERT_RULES.join(' · ') }),
    severity: Type.String({ description: 'warning · critical' }),
    subject: Type.String({ description: 'what the alert is about; alerts of one rule and subject are de-duplicated' }),
    consumerId: Nullable(Type.String()),
    keyId: Nullable(Type.String()),
    message: Type.String(),
    data: Metadata,
    raisedAt: Nullable(DateTime),
    acknowledgedAt: Nullable(DateTime),
    acknowledgedBy: Nullable(Type.String()),
  },
  { $id: 'Alert' },
);

/** `/v1/alerts`: alerts raised by the rules, and their acknowledgement. */
export async function alertRoutes(fastify: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const alerts = deps.monitoring.alerts;
  const tags = ['alerts'];
  app.addSchema(AlertSchema);
  app.get(
    '/v1/alerts',
    {
      preHandler: requireRoot(deps.verifier, 'alerts:read'),
      schema: {
        tags,
        summary: 'Alerts, newest first',
        querystring: Type.Object(
          {
            rule: Type.Optional(Type.Union(ALERT_RULES.map((r) => Type.Literal(r)))),
            consumerId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            acknowledged: Type.Optional(Type.Boolean()),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(Type.Ref('Alert')), ...adminErrors },
      },
    },
    async (req) => {
      const { rule, consumerId, acknowledged, ...page } = req.query;
      return alerts.list({ rule, consumerId, acknowledged }, page);
    },
  );
  app.get(
    '/v1/alerts/:id',
    {
      preHandler: requireRoot(deps.verifier, 'alerts:read'),
      schema: { tags, summary: 'Get an alert', params: IdParams, response: { 200: AlertSchema, ...adminErrors } },
    },
    async (req) => alerts.get(req.params.id),
  );
  app.post(
    '/v1/alerts/:id/acknowledge',
    {
      preHandler: requireRoot(deps.verifier, 'alerts:write'),
      schema: {
        tags,
        summary: 'Acknowledge an alert',
        params: IdParams,
        response: { 200: AlertSchema, ...adminErrors },
      },
    },
    async (req) => alerts.acknowledge(actorOf(req), req.params.id),
  );
}
