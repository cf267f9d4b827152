import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { actorOf, requireRoot } from '../http/auth.js';
import {
  adminErrors,
  DateTime,
  IdParams,
  Nullable,
  PageOf,
  PageQuery,
  Quota,
  QuotaOut,
  RateLimit,
} from '../http/schemas.js';

const PlanBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    rateLimit: Type.Optional(Nullable(RateLimit)),
    quota: Type.Optional(Nullable(Quota)),
  },
  { additionalProperties: false },
);

/** A plan: a named rate limit and quota that consumers and keys inherit. */
export const PlanSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    rateLimit: Nullable(Type.Object({ limit: Type.Integer(), window: Type.String() })),
    quota: QuotaOut,
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { $id: 'Plan' },
);

/** `/v1/plans`: create, list, read, change, delete. */
export async function planRoutes(fastify: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const read = requireRoot(deps.verifier, 'plans:read');
  const write = requireRoot(deps.verifier, 'plans:write');
  const tags = ['plans'];
  app.addSchema(PlanSchema);

  app.post(
    '/v1/plans',
    {
      preHandler: write,
      schema: { tags, summary: 'Create a plan', body: PlanBody, response: { 201: PlanSchema, ...adminErrors } },
    },
    async (req, reply) => reply.code(201).send(await deps.plans.create(actorOf(req), req.body)),
  );
  app.get(
    '/v1/plans',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'List plans',
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: PageOf(PlanSchema), ...adminErrors },
      },
    },
    async (req) => deps.plans.list(req.query),
  );
  app.get(
    '/v1/plans/:id',
    {
      preHandler: read,
      schema: { tags, summary: 'Get a plan', params: IdParams, response: { 200: PlanSchema, ...adminErrors } },
    },
    async (req) => deps.plans.get(req.params.id),
  );
  app.patch(
    '/v1/plans/:id',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Change a plan (everyone on it follows at once)',
        params: IdParams,
        body: Type.Partial(PlanBody, { additionalProperties: false }),
        response: { 200: PlanSchema, ...adminErrors },
      },
    },
    async (req) => deps.plans.update(actorOf(req), req.params.id, req.body),
  );
  app.delete(
    '/v1/plans/:id',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Delete a plan no consumer or key is on',
        params: IdParams,
        response: { 204: Type.Null(), ...adminErrors },
      },
    },
    async (req, reply) => {
      await deps.plans.delete(actorOf(req), req.params.id);
      return reply.code(204).send(null);
    },
  );
}
