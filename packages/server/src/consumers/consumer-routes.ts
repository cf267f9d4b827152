import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { actorOf, requireRoot } from '../http/auth.js';
import {
  adminErrors,
  IdParams,
  Metadata,
  Nullable,
  PageOf,
  PageQuery,
  Quota,
  RateLimit,
  SearchText,
} from '../http/schemas.js';
import { ConsumerSchema } from './consumer-schemas.js';

const ConsumerBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    externalId: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 200 }))),
    metadata: Type.Optional(Metadata),
    rateLimit: Type.Optional(Nullable(RateLimit)),
    quota: Type.Optional(Nullable(Quota)),
    planId: Type.Optional(
      Nullable(
        Type.String({
          minLength: 1,
          maxLength: 64,
          description: 'the plan whose limits apply where the consumer sets none',
        }),
      ),
    ),
  },
  { additionalProperties: false },
);

/** `/v1/consumers`: create, list, read, change, delete. */
export async function consumerRoutes(fastify: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const read = requireRoot(deps.verifier, 'consumers:read');
  const write = requireRoot(deps.verifier, 'consumers:write');
  const tags = ['consumers'];

  app.post(
    '/v1/consumers',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Create a consumer',
        body: ConsumerBody,
        response: { 201: ConsumerSchema, ...adminErrors },
      },
    },
    async (req, reply) => reply.code(201).send(await deps.consumers.create(actorOf(req), req.body)),
  );
  app.get(
    '/v1/consumers',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'List consumers, oldest first; `q` searches them',
        description:
          '`q` finds consumers whose name, external id or id, or the hint of one of whose keys, contains ' +
          'the text, ignoring case; it combines with paging.',
        querystring: Type.Object({ q: Type.Optional(SearchText), ...PageQuery }, { additionalProperties: false }),
        response: { 200: PageOf(ConsumerSchema), ...adminErrors },
      },
    },
    async (req) => {
      const { q, ...page } = req.query;
      return deps.consumers.list(page, { q });
    },
  );
  app.get(
    '/v1/consumers/:id',
    {
      preHandler: read,
      schema: { tags, summary: 'Get a consumer', params: IdParams, response: { 200: ConsumerSchema, ...adminErrors } },
    },
    async (req) => deps.consumers.get(req.params.id),
  );
  app.patch(
    '/v1/consumers/:id',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Change a consumer',
        params: IdParams,
        body: Type.Partial(ConsumerBody, { additionalProperties: false }),
        response: { 200: ConsumerSchema, ...adminErrors },
      },
    },
    async (req) => deps.consumers.update(actorOf(req), req.params.id, req.body),
  );
  app.delete(
    '/v1/consumers/:id',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Delete a consumer and revoke its keys',
        params: IdParams,
        response: { 204: Type.Null(), ...adminErrors },
      },
    },
    async (req, reply) => {
      await deps.consumers.delete(actorOf(req), req.params.id);
      return reply.code(204).send(null);
    },
  );
}
