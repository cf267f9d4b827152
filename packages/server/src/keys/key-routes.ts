import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { KEY_STATUSES } from '@keyroll/core';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { actorOf, requireRoot } from '../http/auth.js';
import {
  adminErrors,
  DateTime,
  Duration,
  IdParams,
  Metadata,
  Nullable,
  PageOf,
  PageQuery,
  Quota,
  RateLimit,
  Scopes,
  SearchText,
} from '../http/schemas.js';
import { expiryInput } from '../http/time-input.js';
import { KeySchema } from './key-schemas.js';

const KeyFields = {
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  scopes: Type.Optional(Scopes),
  expiresAt: Type.Optional(Nullable(DateTime)),
  expiresIn: Type.Optional(Duration),
  metadata: Type.Optional(Metadata),
  allowedIps: Type.Optional(Nullable(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 100 }))),
  rateLimit: Type.Optional(Nullable(RateLimit)),
  quota: Type.Optional(Nullable(Quota)),
  planId: Type.Optional(
    Nullable(
      Type.String({ minLength: 1, maxLength: 64, description: 'the plan whose limits apply where the key sets none' }),
    ),
  ),
};

const CreateKeyBody = Type.Object(
  { consumerId: Type.String({ minLength: 1, maxLength: 64 }), ...KeyFields },
  { additionalProperties: false },
);
const UpdateKeyBody = Type.Object(KeyFields, { additionalProperties: false });

/** The one response that carries a secret. */
export const IssuedKeySchema = Type.Composite(
  [Type.Object({ key: Type.String({ description: 'the secret: shown this once, never again' }) }), KeySchema],
  {
    $id: 'IssuedKey',
  },
);

/** `/v1/keys`: issue, list, read, change, revoke. */
export async function keyRoutes(fastify: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const read = requireRoot(deps.verifier, 'keys:read');
  const write = requireRoot(deps.verifier, 'keys:write');
  const tags = ['keys'];

  app.post(
    '/v1/keys',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Issue a key (the secret is in this response only)',
        body: CreateKeyBody,
        response: { 201: IssuedKeySchema, ...adminErrors },
      },
    },
    async (req, reply) => {
      const { expiresAt, expiresIn, ...rest } = req.body;
      const issued = await deps.keys.create(actorOf(req), {
        ...rest,
        expiresAt: expiryInput(expiresAt, expiresIn, deps.clock.now()),
      });
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ key: issued.key, ...issued.view });
    },
  );
  app.get(
    '/v1/keys',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'List keys, oldest first; filter by consumer and status, `q` searches them',
        description:
          "`q` finds keys whose name, hint (or its last characters) or id, or whose consumer's name or " +
          'external id, contains the text, ignoring case; it combines with the other filters and paging.',
        querystring: Type.Object(
          {
            consumerId: Type.Optional(Type.String({ maxLength: 64 })),
            status: Type.Optional(Type.Union(KEY_STATUSES.map((s) => Type.Literal(s)))),
            q: Type.Optional(SearchText),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(KeySchema), ...adminErrors },
      },
    },
    async (req) => {
      const { consumerId, status, q, ...page } = req.query;
      return deps.keys.list({ consumerId, status, q }, page);
    },
  );
  app.get(
    '/v1/keys/:id',
    {
      preHandler: read,
      schema: { tags, summary: 'Get a key', params: IdParams, response: { 200: KeySchema, ...adminErrors } },
    },
    async (req) => deps.keys.get(req.params.id),
  );
  app.patch(
    '/v1/keys/:id',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Change a key',
        params: IdParams,
        body: UpdateKeyBody,
        response: { 200: KeySchema, ...adminErrors },
      },
    },
    async (req) => {
      const { expiresAt, expiresIn, ...rest } = req.body;
      return deps.keys.update(actorOf(req), req.params.id, {
        ...rest,
        expiresAt: expiryInput(expiresAt, expiresIn, deps.clock.now()),
      });
    },
  );
  app.post(
    '/v1/keys/:id/revoke',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Revoke a key now',
        params: IdParams,
        // No body at all (a bare `curl -X POST`) is fine: Fastify validates a missing body as null.
        body: Nullable(
          Type.Object(
            { reason: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
            { additionalProperties: false },
          ),
        ),
        response: { 200: KeySchema, ...adminErrors },
      },
    },
    async (req) => deps.keys.revoke(actorOf(req), req.params.id, req.body?.reason),
  );
}
