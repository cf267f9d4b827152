import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { actorOf, requireRoot } from '../http/auth.js';
import { adminErrors, DateTime, Duration, IdParams, Metadata, Nullable, PageOf, PageQuery } from '../http/schemas.js';
import { requireDuration } from '../http/time-input.js';
import { WEBHOOK_EVENT_TYPES } from './event-types.js';
import { DELIVERY_STATUSES } from './webhook-service.js';

const EventFilter = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
  minItems: 1,
  maxItems: 50,
  description: `event types, "*" for all, or "family.*"; known: ${WEBHOOK_EVENT_TYPES.join(', ')}`,
});

const WebhookFields = {
  url: Type.String({ minLength: 1, maxLength: 2048, description: 'http(s) URL receiving POSTed events' }),
  events: EventFilter,
  consumerId: Type.Optional(
    Nullable(Type.String({ minLength: 1, maxLength: 64, description: "only this consumer's events" })),
  ),
  description: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
};

const CreateWebhookBody = Type.Object(WebhookFields, { additionalProperties: false });
const UpdateWebhookBody = Type.Object(
  {
    url: Type.Optional(WebhookFields.url),
    events: Type.Optional(EventFilter),
    consumerId: WebhookFields.consumerId,
    description: WebhookFields.description,
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const WebhookSchema = Type.Object(
  {
    id: Type.String(),
    url: Type.String(),
    events: Type.Array(Type.String()),
    consumerId: Nullable(Type.String()),
    description: Nullable(Type.String()),
    enabled: Type.Boolean(),
    previousSecretExpiresAt: Nullable(DateTime),
    createdAt: Nullable(DateTime),
    updatedAt: Nullable(DateTime),
  },
  { $id: 'Webhook' },
);

const Secret = Type.Object({
  secret: Type.String({ description: 'the signing secret (whsec_…): shown in this response only' }),
});

const DeliverySchema = Type.Object({
  id: Type.String({ description: 'also the webhook-id header: the same on every attempt' }),
  webhookId: Type.String(),
  eventType: Type.String(),
  eventSeq: Type.Integer(),
  status: Type.String({ description: DELIVERY_STATUSES.join(' · ') }),
  attempts: Type.Integer(),
  nextAttemptAt: Nullable(DateTime),
  lastAttemptAt: Nullable(DateTime),
  responseStatus: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()),
  createdAt: Nullable(DateTime),
  deliveredAt: Nullable(DateTime),
  payload: Metadata,
});

/** `/v1/webhooks`: subscriptions, secret rotation, deliveries and redelivery. */
export async function webhookRoutes(fastify: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const read = requireRoot(deps.verifier, 'webhooks:read');
  const write = requireRoot(deps.verifier, 'webhooks:write');
  const hooks = deps.monitoring.webhooks;
  const tags = ['webhooks'];
  app.addSchema(WebhookSchema);

  app.post(
    '/v1/webhooks',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Subscribe a URL to events (the signing secret is in this response only)',
        body: CreateWebhookBody,
        response: { 201: Type.Composite([Secret, WebhookSchema]), ...adminErrors },
      },
    },
    async (req, reply) => {
      const created = await hooks.create(actorOf(req), req.body);
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ secret: created.secret, ...created.view });
    },
  );
  app.get(
    '/v1/webhooks',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'List webhooks',
        querystring: Type.Object(
          { consumerId: Type.Optional(Type.String({ maxLength: 64 })), ...PageQuery },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(Type.Ref('Webhook')), ...adminErrors },
      },
    },
    async (req) => {
      const { consumerId, ...page } = req.query;
      return hooks.list({ consumerId }, page);
    },
  );
  app.get(
    '/v1/webhooks/:id',
    {
      preHandler: read,
      schema: { tags, summary: 'Get a webhook', params: IdParams, response: { 200: WebhookSchema, ...adminErrors } },
    },
    async (req) => hooks.get(req.params.id),
  );
  app.patch(
    '/v1/webhooks/:id',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Change a webhook',
        params: IdParams,
        body: UpdateWebhookBody,
        response: { 200: WebhookSchema, ...adminErrors },
      },
    },
    async (req) => hooks.update(actorOf(req), req.params.id, req.body),
  );
  app.delete(
    '/v1/webhooks/:id',
    {
      preHandler: write,
      schema: { tags, summary: 'Delete a webhook', params: IdParams, response: { 204: Type.Null(), ...adminErrors } },
    },
    async (req, reply) => {
      await hooks.delete(actorOf(req), req.params.id);
      return reply.code(204).send(null);
    },
  );
  app.post(
    '/v1/webhooks/:id/rotate-secret',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Replace the signing secret; both sign during the overlap (default 24h)',
        params: IdParams,
        // Nullable: no body at all is fine (and the document says the body is optional).
        body: Nullable(Type.Object({ overlap: Type.Optional(Duration) }, { additionalProperties: false })),
        response: {
          200: Type.Object({
            id: Type.String(),
            secret: Type.String(),
            previousSecretExpiresAt: Nullable(DateTime),
          }),
          ...adminErrors,
        },
      },
    },
    async (req, reply) => {
      const overlap = requireDuration('overlap', req.body?.overlap ?? '24h');
      const rotated = await hooks.rotateSecret(actorOf(req), req.params.id, overlap);
      return reply.header('cache-control', 'no-store').send(rotated);
    },
  );
  app.get(
    '/v1/webhooks/:id/deliveries',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'Deliveries of a webhook, newest first',
        params: IdParams,
        querystring: Type.Object(
          {
            status: Type.Optional(Type.Union(DELIVERY_STATUSES.map((s) => Type.Literal(s)))),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(DeliverySchema), ...adminErrors },
      },
    },
    async (req) => {
      const { status, ...page } = req.query;
      return hooks.deliveries(req.params.id, { status }, page);
    },
  );
  app.post(
    '/v1/webhooks/:id/deliveries/:deliveryId/redeliver',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Queue a delivery again, with a fresh attempt budget',
        params: Type.Object({
          id: Type.String({ minLength: 1, maxLength: 64 }),
          deliveryId: Type.String({ minLength: 1, maxLength: 64 }),
        }),
        response: { 202: DeliverySchema, ...adminErrors },
      },
    },
    async (req, reply) =>
      reply.code(202).send(await hooks.redeliver(actorOf(req), req.params.id, req.params.deliveryId)),
  );
}
